package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler("/web/", Config{
		WS:  func(*http.Request) string { return "ws://127.0.0.1:8083/mqtt" },
		WSS: func(*http.Request) string { return "" },
	}))
	defer srv.Close()
	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	if code, _, body := get("/web/"); code != 200 || !strings.Contains(body, "<title>imqtt chat</title>") {
		t.Fatalf("index: %d %q", code, body)
	}
	for _, f := range []string{"app.js", "style.css", "imqtt.js"} {
		if code, _, body := get("/web/" + f); code != 200 || len(body) == 0 {
			t.Fatalf("%s: %d, %d bytes", f, code, len(body))
		}
	}
	code, ctype, body := get("/web/config.json")
	var cfg map[string]string
	if code != 200 || !strings.HasPrefix(ctype, "application/json") || json.Unmarshal([]byte(body), &cfg) != nil ||
		cfg["ws"] != "ws://127.0.0.1:8083/mqtt" || cfg["wss"] != "" {
		t.Fatalf("config.json: %d %s %q", code, ctype, body)
	}
	if code, _, _ := get("/web/nope.js"); code != 404 {
		t.Fatalf("missing file: %d", code)
	}
}
