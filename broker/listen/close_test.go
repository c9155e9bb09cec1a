package listen

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	mqtt "github.com/mochi-mqtt/server/v2"
)

// TestGracefulCloseDeliversDisconnect makes mochi close a connection that still
// has unread input: an MQTT 5 client sends more QoS 2 PUBLISHes than the
// server's Receive Maximum (2) without waiting; mochi answers DISCONNECT 0x93 and
// closes. The client must read that DISCONNECT and then a clean EOF, not a reset.
func TestGracefulCloseDeliversDisconnect(t *testing.T) {
	files := newTLSFiles(t)
	b := newTestBroker(t, testLimits(), []Config{tcpConfig(), files.config("tls", KindTLS, "")}, nil,
		withCapabilities(func(c *mqtt.Capabilities) { c.ReceiveMaximum = 2 }))

	for _, kind := range []string{KindTCP, KindTLS} {
		t.Run(kind, func(t *testing.T) {
			var tlsCfg = files.clientTLS()
			if kind == KindTCP {
				tlsCfg = nil
			}
			for round := range 5 {
				c := mustDial(t, kind, b.addr(kind), tlsCfg)
				r := rawConnect(t, c, connectV5("flood-"+kind+string(rune('a'+round))))
				payload := bytes.Repeat([]byte{'x'}, 4096)
				var flood []byte
				for id := 1; id <= 32; id++ {
					body := append(mqttString("flood"), byte(id>>8), byte(id), 0) // packet id, no properties
					flood = append(flood, packet(0x34, append(body, payload...))...)
				}
				wrote := make(chan error, 1)
				go func() { _, err := c.Write(flood); wrote <- err }()

				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				var disconnect []byte
				var err error
				for {
					var h byte
					var body []byte
					h, body, err = readPacket(r)
					if err != nil {
						break
					}
					if h == 0xe0 {
						disconnect = body
					}
				}
				if disconnect == nil || disconnect[0] != 0x93 {
					t.Fatalf("round %d: DISCONNECT 0x93 not received (got % x), read ended with %v", round, disconnect, err)
				}
				if !errors.Is(err, io.EOF) {
					t.Fatalf("round %d: stream ended with %v, want EOF", round, err)
				}
				_ = c.Close()
				<-wrote
			}
		})
	}
}

// TestCloseWithUnreadInput closes connections from an EstablishFn that writes a
// goodbye and returns while the peer's data sits unread; the peer must read the
// goodbye and then EOF (tcp, tls) or a normal WebSocket close (ws).
func TestCloseWithUnreadInput(t *testing.T) {
	obs := newCountingObserver()
	log := testLogger(t)
	g := NewGuard(testLimits(), obs, log)
	defer g.Close()
	files := newTLSFiles(t)
	goodbye := []byte("goodbye")

	for _, cfg := range []Config{tcpConfig(), files.config("tls", KindTLS, ""), wsConfig()} {
		t.Run(cfg.Kind, func(t *testing.T) {
			l, err := New(cfg, g, log)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Init(nil); err != nil {
				t.Fatal(err)
			}
			go l.Serve(func(_ string, c net.Conn) error {
				buf := make([]byte, 1)
				if _, err := io.ReadFull(c, buf); err != nil { // wait for the client's data
					return err
				}
				if _, err := c.Write(goodbye); err != nil {
					return err
				}
				return c.Close()
			})
			defer l.Close(func(string) {})

			var tlsCfg = files.clientTLS()
			c := mustDial(t, cfg.Kind, l.Address(), tlsCfg)
			// 256 KiB the server never reads.
			junk := bytes.Repeat([]byte{0x10}, 256<<10)
			go func() { _, _ = c.Write(junk) }()

			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if cfg.Kind == KindWS {
				ws := c.(*wsClientConn).ws
				_, msg, err := ws.ReadMessage()
				if err != nil || !bytes.Equal(msg, goodbye) {
					t.Fatalf("ws goodbye: %q %v", msg, err)
				}
				_, _, err = ws.ReadMessage()
				if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
					t.Fatalf("ws: want a normal close frame, got %v", err)
				}
				return
			}
			got, err := io.ReadAll(bufio.NewReader(c))
			if !bytes.Equal(got, goodbye) {
				t.Fatalf("read %q, want %q (err %v)", got, goodbye, err)
			}
			if err != nil { // ReadAll turns EOF into nil
				if errors.Is(err, syscall.ECONNRESET) {
					t.Fatal("connection reset: the close was not graceful")
				}
				t.Fatalf("read ended with %v, want EOF", err)
			}
		})
	}
	eventually(t, 10*time.Second, "guard slots released", func() bool { return g.Open() == 0 })
}
