package broker

import (
	"net"
	"net/http"

	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/web"
)

// webPrefix is where the admin listener serves the web chat client.
const webPrefix = "/web/"

// mountWeb serves the web chat client (package web) on the admin listener
// under /web/, without the admin token (the page signs in over MQTT). Call it
// from New after mountAdminAPI.
func mountWeb(b *Broker) error {
	return b.admin.HandlePublic("GET "+webPrefix, web.Handler(webPrefix, web.Config{
		WS:  func(r *http.Request) string { return b.wsURL(r, "ws", "ws") },
		WSS: func(r *http.Request) string { return b.wsURL(r, "wss", "wss") },
	}))
}

// wsURL is the URL of the WebSocket listener name as the browser that asked
// (r) can reach it: the bound address, with the host the browser used when
// the listener binds all addresses. "" when the listener is off.
func (b *Broker) wsURL(r *http.Request, name, scheme string) string {
	addr := b.Addr(name) // either engine path; "" when the listener is off
	if addr == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			host = h
		} else {
			host = r.Host
		}
	}
	path := b.cfg.Listeners.All()[name].Path
	if path == "" {
		path = listen.DefaultWSPath
	}
	return scheme + "://" + net.JoinHostPort(host, port) + path
}
