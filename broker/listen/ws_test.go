package listen

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestWebSocketUpgradeRules(t *testing.T) {
	cfg := wsConfig()
	cfg.Path = "/custom"
	b := newTestBroker(t, testLimits(), []Config{cfg}, nil)
	addr := b.addr("ws")
	d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: 5 * time.Second}

	t.Run("wrong path is 404", func(t *testing.T) {
		u := url.URL{Scheme: "ws", Host: addr, Path: "/mqtt"}
		_, resp, err := d.Dial(u.String(), nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("dial /mqtt on a /custom listener: %v, %v", err, resp)
		}
		_ = resp.Body.Close()
	})

	t.Run("plain http is refused", func(t *testing.T) {
		resp, err := http.Get("http://" + addr + "/custom")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("GET without upgrade: %d", resp.StatusCode)
		}
	})

	t.Run("configured path with mqtt subprotocol", func(t *testing.T) {
		u := url.URL{Scheme: "ws", Host: addr, Path: "/custom"}
		ws, resp, err := d.Dial(u.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		defer ws.Close()
		if ws.Subprotocol() != "mqtt" {
			t.Fatalf("subprotocol %q", ws.Subprotocol())
		}
		// CONNECT split over two binary messages still parses [MQTT-6.0.0-2].
		pk := connectV311("split")
		if err := ws.WriteMessage(websocket.BinaryMessage, pk[:5]); err != nil {
			t.Fatal(err)
		}
		if err := ws.WriteMessage(websocket.BinaryMessage, pk[5:]); err != nil {
			t.Fatal(err)
		}
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		typ, msg, err := ws.ReadMessage()
		if err != nil || typ != websocket.BinaryMessage || len(msg) != 4 || msg[0] != 0x20 || msg[3] != 0 {
			t.Fatalf("connack: type %d % x %v", typ, msg, err)
		}
		// A text message ends the connection [MQTT-6.0.0-1].
		if err := ws.WriteMessage(websocket.TextMessage, []byte{0xc0, 0x00}); err != nil {
			t.Fatal(err)
		}
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				if isTimeout(err) {
					t.Fatal("connection still open after a text message")
				}
				break
			}
		}
	})
}
