package transport

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/listen"
)

// TestWSUpgradeRules: a ws listener on a custom path answers bad upgrade
// requests with the right HTTP status and opens no connection for them;
// good ones get 101 with the mqtt (or mqttv3.1) subprotocol, or none when the
// client offered none. (Wrong path 404, text messages and bad frames:
// ws_test.go.)
func TestWSUpgradeRules(t *testing.T) {
	cfg := testConfig()
	cfg.Listeners = []listen.Config{{Name: "ws", Kind: listen.KindWS, Address: "127.0.0.1:0", Path: "/custom"}}
	h := newEcho(t)
	s := newTestServer(t, cfg, h)
	const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	const upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	for _, tc := range []struct {
		name, req string
		status    int
		proto     string
	}{
		{"default path on a custom listener", "GET /mqtt HTTP/1.1\r\nHost: x\r\n" + upgrade + key + "Sec-WebSocket-Version: 13\r\n", 404, ""},
		{"plain http get", "GET /custom HTTP/1.1\r\nHost: x\r\n", 400, ""},
		{"post", "POST /custom HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" + upgrade + key + "Sec-WebSocket-Version: 13\r\n", 405, ""},
		{"version 8", "GET /custom HTTP/1.1\r\nHost: x\r\n" + upgrade + key + "Sec-WebSocket-Version: 8\r\n", 426, ""},
		{"short key", "GET /custom HTTP/1.1\r\nHost: x\r\n" + upgrade + "Sec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n", 400, ""},
		{"only other subprotocols", "GET /custom HTTP/1.1\r\nHost: x\r\n" + upgrade + key + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, wamp\r\n", 400, ""},
		{"mqtt among others", "GET /custom HTTP/1.1\r\nHost: x\r\n" + upgrade + key + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, mqtt\r\n", 101, "mqtt"},
		{"mqttv3.1", "GET /custom HTTP/1.1\r\nHost: x\r\n" + upgrade + key + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqttv3.1\r\n", 101, "mqttv3.1"},
		{"no subprotocol", "GET /custom HTTP/1.1\r\nHost: x\r\n" + upgrade + key + "Sec-WebSocket-Version: 13\r\n", 101, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := dial(t, s, "ws")
			mustWrite(t, nc, []byte(tc.req+"\r\n"))
			_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(nc)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != tc.proto {
				t.Fatalf("subprotocol %q, want %q", got, tc.proto)
			}
			if tc.status == 426 && resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Fatalf("426 without Sec-WebSocket-Version: 13: %v", resp.Header)
			}
			if tc.status != 101 {
				if err := readUntilClosed(nc); err != nil {
					t.Fatal(err)
				}
				return
			}
			// Upgraded: a CONNECT split over two binary messages gets its
			// CONNACK [MQTT-6.0.0-2].
			cp := connectPacket(4, 0, "ws-"+strings.ReplaceAll(tc.name, " ", "-"))
			mustWrite(t, nc, append(frame(true, wsBinary, cp[:3]), frame(true, wsBinary, cp[3:])...))
			if op, p := readFrame(t, br); op != 0x80|wsBinary || len(p) != 4 || p[0] != 0x20 {
				t.Fatalf("connack frame %#x % x", op, p)
			}
			_ = nc.Close()
			h.waitClosed(t)
		})
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.opened != 3 {
		t.Fatalf("opened %d connections, want the 3 upgraded", h.opened)
	}
}
