// Package web is imqtt's browser chat client: static files (HTML, CSS, the
// app, and static/imqtt.js, the browser bundle of the JavaScript SDK built
// from sdk/js with mqtt.js inside) embedded in the binary, served by the
// admin listener under /web/ (broker/web_wiring.go). The page (app.js) is UI
// only: it talks to the broker through the SDK, over MQTT 5 on WebSocket
// with the IM protocol of docs/protocol.md. It finds the broker's WebSocket
// URL in /web/config.json, or in its ?broker= parameter when the files are
// hosted elsewhere. docs/web.md describes it.
package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Config is what /web/config.json tells the page.
type Config struct {
	// WS and WSS return the broker's WebSocket URLs ("" when the listener is
	// off); called per request, so bound addresses of port-0 listeners show.
	WS, WSS func(r *http.Request) string
}

// Handler serves the app under prefix (for example "/web/").
func Handler(prefix string, cfg Config) http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	files := http.StripPrefix(prefix, http.FileServerFS(sub))
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"config.json", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]string{}
		if cfg.WS != nil {
			out["ws"] = cfg.WS(r)
		}
		if cfg.WSS != nil {
			out["wss"] = cfg.WSS(r)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.Handle("GET "+prefix, files)
	return mux
}
