package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/gorilla/websocket"

	"github.com/imqtt/imqtt/broker/listen"
)

// wsNetConn is a net.Conn over a gorilla client connection (binary messages).
type wsNetConn struct {
	*websocket.Conn
	mu sync.Mutex
	r  io.Reader
}

func (c *wsNetConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			_, r, err := c.NextReader()
			if err != nil {
				return 0, err
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

func (c *wsNetConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsNetConn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func wsTestConfig(t *testing.T) (Config, *tls.Config) {
	t.Helper()
	lt, ct := testCert(t)
	cfg := testConfig()
	cfg.Listeners = append(cfg.Listeners,
		listen.Config{Name: "ws", Kind: listen.KindWS, Address: "127.0.0.1:0"},
		listen.Config{Name: "wss", Kind: listen.KindWSS, Address: "127.0.0.1:0", TLS: lt})
	return cfg, ct
}

func dialWS(t *testing.T, s *Server, name string, ct *tls.Config) *wsNetConn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"mqtt"}, TLSClientConfig: ct, HandshakeTimeout: 5 * time.Second}
	scheme := "ws://"
	if name == "wss" {
		scheme = "wss://"
	}
	wc, resp, err := d.Dial(scheme+s.Addr(name).String()+"/mqtt", nil)
	if err != nil {
		t.Fatalf("dial %s: %v", name, err)
	}
	if resp.Header.Get("Sec-WebSocket-Protocol") != "mqtt" {
		t.Fatalf("subprotocol %q", resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	t.Cleanup(func() { _ = wc.Close() })
	return &wsNetConn{Conn: wc}
}

// TestWSPaho: a real MQTT 5 client over ws and wss (gorilla's dialer).
func TestWSPaho(t *testing.T) {
	cfg, ct := wsTestConfig(t)
	h := newEcho(t)
	s := newTestServer(t, cfg, h)
	for _, name := range []string{"ws", "wss"} {
		nc := dialWS(t, s, name, ct)
		// A Locker keeps paho's multi-Write packets whole (paho.golang #90).
		cl := paho.NewClient(paho.ClientConfig{Conn: packets.NewThreadSafeConn(nc)})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ca, err := cl.Connect(ctx, &paho.Connect{ClientID: name, CleanStart: true})
		cancel()
		if err != nil || ca.ReasonCode != 0 {
			t.Fatalf("%s connect: %v %+v", name, err, ca)
		}
		c := h.conn(t)
		if c.Listener() != name || (c.TLS() != nil) != (name == "wss") {
			t.Fatalf("listener %q tls %v", c.Listener(), c.TLS())
		}
		if err := cl.Disconnect(&paho.Disconnect{}); err != nil {
			t.Fatal(err)
		}
		if ev := h.waitClosed(t); !errors.Is(ev.cause, errDisconnect) {
			t.Fatalf("%s cause %v", name, ev.cause)
		}
	}
}

// TestWSFanOut: large messages between a ws and a wss client, and several MQTT
// packets in one WebSocket message.
func TestWSFanOut(t *testing.T) {
	cfg, ct := wsTestConfig(t)
	h := newEcho(t)
	s := newTestServer(t, cfg, h)
	sub := dialWS(t, s, "wss", ct)
	mustWrite(t, sub, connectPacket(4, 0, "sub"))
	readN(t, sub, 4)
	mustWrite(t, sub, bytes.Repeat([]byte{0xc0, 0}, 50))
	if got := readN(t, sub, 100); !bytes.Equal(got, bytes.Repeat([]byte{0xd0, 0}, 50)) {
		t.Fatal("pingresps differ")
	}
	pub := dialWS(t, s, "ws", nil)
	mustWrite(t, pub, connectPacket(4, 0, "pub"))
	readN(t, pub, 4)
	body := append([]byte{0, 1, 't'}, bytes.Repeat([]byte("ws.."), 25000)...)
	pkt := append(appendRemaining([]byte{0x30}, len(body)), body...)
	mustWrite(t, pub, pkt)
	if got := readN(t, sub, len(pkt)); !bytes.Equal(got, pkt) {
		t.Fatal("publish differs")
	}
}

// rawWS does the upgrade by hand and returns the socket and its reader.
func rawWS(t *testing.T, s *Server, extra []byte) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc := dial(t, s, "ws")
	req := "GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: mqtt\r\n\r\n"
	mustWrite(t, nc, append([]byte(req), extra...))
	br := bufio.NewReader(nc)
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("upgrade: %v %v", resp.Status, resp.Header)
	}
	return nc, br
}

// frame builds a masked client frame.
func frame(fin bool, op byte, payload []byte) []byte {
	b := []byte{op}
	if fin {
		b[0] |= 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	mask := []byte{0x12, 0x34, 0x56, 0x78}
	b = append(b, mask...)
	for i, x := range payload {
		b = append(b, x^mask[i%4])
	}
	return b
}

// readFrame reads one server frame (unmasked).
func readFrame(t *testing.T, br *bufio.Reader) (byte, []byte) {
	t.Helper()
	h := make([]byte, 2)
	if _, err := io.ReadFull(br, h); err != nil {
		t.Fatal(err)
	}
	if h[1]&0x80 != 0 {
		t.Fatal("server frame masked")
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		e := make([]byte, 2)
		_, _ = io.ReadFull(br, e)
		n = int(binary.BigEndian.Uint16(e))
	case 127:
		e := make([]byte, 8)
		_, _ = io.ReadFull(br, e)
		n = int(binary.BigEndian.Uint64(e))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatal(err)
	}
	return h[0], p
}

// TestWSRawFrames: bytes sent with the upgrade request, a CONNECT fragmented
// across frames with a ping between the fragments, then a close.
func TestWSRawFrames(t *testing.T) {
	cfg, _ := wsTestConfig(t)
	h := newEcho(t)
	s := newTestServer(t, cfg, h)
	cp := connectPacket(4, 0, "raw")
	first := frame(false, wsBinary, cp[:5])
	nc, br := rawWS(t, s, first) // the first fragment rides with the request
	mustWrite(t, nc, frame(true, wsPing, []byte("hi")))
	mustWrite(t, nc, frame(false, wsCont, cp[5:9]))
	rest := frame(true, wsCont, cp[9:])
	for _, b := range rest { // the last fragment one byte per write
		mustWrite(t, nc, []byte{b})
	}
	if op, p := readFrame(t, br); op != 0x80|wsPong || string(p) != "hi" {
		t.Fatalf("pong: %#x %q", op, p)
	}
	if op, p := readFrame(t, br); op != 0x80|wsBinary || !bytes.Equal(p, []byte{0x20, 2, 0, 0}) {
		t.Fatalf("connack: %#x %x", op, p)
	}
	mustWrite(t, nc, frame(true, wsClose, []byte{0x03, 0xe8}))
	if op, p := readFrame(t, br); op != 0x80|wsClose || !bytes.Equal(p, []byte{0x03, 0xe8}) {
		t.Fatalf("close: %#x %x", op, p)
	}
	if ev := h.waitClosed(t); !errors.Is(ev.cause, io.EOF) {
		t.Fatalf("cause %v", ev.cause)
	}
}

// TestWSBadFrames: a text message and an unmasked frame get a close frame and
// end the connection.
func TestWSBadFrames(t *testing.T) {
	cfg, _ := wsTestConfig(t)
	h := newEcho(t)
	s := newTestServer(t, cfg, h)
	for _, tc := range []struct {
		send []byte
		code uint16
	}{
		{frame(true, wsText, []byte("hello")), wsStatusUnsupported},
		{[]byte{0x82, 0x02, 0xc0, 0x00}, wsStatusProtocol},
	} {
		nc, br := rawWS(t, s, nil)
		mustWrite(t, nc, tc.send)
		op, p := readFrame(t, br)
		if op != 0x80|wsClose || len(p) != 2 || binary.BigEndian.Uint16(p) != tc.code {
			t.Fatalf("close: %#x %x", op, p)
		}
		if ev := h.waitClosed(t); !errors.Is(ev.cause, ErrWebSocket) {
			t.Fatalf("cause %v", ev.cause)
		}
	}
	// A wrong path gets 404 and no Open.
	nc := dial(t, s, "ws")
	mustWrite(t, nc, []byte("GET /other HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("wrong path: %v %v", err, resp)
	}
}
