package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/imqtt/imqtt/broker/listen"
)

// TestPahoConnectDisconnect drives the transport with a real MQTT 5 client.
func TestPahoConnectDisconnect(t *testing.T) {
	h := newEcho(t)
	s := newTestServer(t, testConfig(), h)
	nc := dial(t, s, "tcp")
	cl := paho.NewClient(paho.ClientConfig{Conn: nc})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ca, err := cl.Connect(ctx, &paho.Connect{ClientID: "paho", CleanStart: true, KeepAlive: 0})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if ca.ReasonCode != 0 {
		t.Fatalf("connack reason %d", ca.ReasonCode)
	}
	c := h.conn(t)
	if c.Listener() != "tcp" || !c.Remote().Addr().IsLoopback() || c.TLS() != nil {
		t.Fatalf("listener %q remote %v tls %v", c.Listener(), c.Remote(), c.TLS())
	}
	if err := cl.Disconnect(&paho.Disconnect{ReasonCode: 0}); err != nil {
		t.Fatalf("disconnect: %v", err)
	}
	ev := h.waitClosed(t)
	if !errors.Is(ev.cause, errDisconnect) {
		t.Fatalf("cause %v, want the handler's error", ev.cause)
	}
}

// TestRawSplitAndBatched sends a CONNECT one byte per write and then several
// PINGREQs in one write: every packet arrives whole and in order, the answers of
// one batch come back.
func TestRawSplitAndBatched(t *testing.T) {
	h := newEcho(t)
	s := newTestServer(t, testConfig(), h)
	nc := dial(t, s, "tcp")
	for _, b := range connectPacket(4, 0, "split") {
		if _, err := nc.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // spread over reads; not synchronisation
	}
	if got := readN(t, nc, 4); !bytes.Equal(got, []byte{0x20, 2, 0, 0}) {
		t.Fatalf("connack %x", got)
	}
	if _, err := nc.Write(bytes.Repeat([]byte{0xc0, 0}, 100)); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, nc, 200); !bytes.Equal(got, bytes.Repeat([]byte{0xd0, 0}, 100)) {
		t.Fatalf("pingresps %x", got)
	}
	_ = nc.Close()
	ev := h.waitClosed(t)
	if !errors.Is(ev.cause, io.EOF) {
		t.Fatalf("cause %v, want EOF", ev.cause)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.packets) != 101 || h.packets[0] != 1 {
		t.Fatalf("packets %v", h.packets)
	}
}

// TestLargePacketStraddles sends a PUBLISH far larger than the read buffer; a
// second client receives it intact (fan-out through Queue with the batch).
func TestLargePacketStraddles(t *testing.T) {
	h := newEcho(t)
	s := newTestServer(t, testConfig(), h)
	sub := dial(t, s, "tcp")
	mustWrite(t, sub, connectPacket(4, 0, "sub"))
	readN(t, sub, 4)
	pub := dial(t, s, "tcp")
	mustWrite(t, pub, connectPacket(4, 0, "pub"))
	readN(t, pub, 4)

	payload := bytes.Repeat([]byte("0123456789abcdef"), 5000) // 80 KB
	body := append([]byte{0, 1, 't'}, payload...)
	pkt := append(appendRemaining([]byte{0x30}, len(body)), body...)
	mustWrite(t, pub, pkt)
	if got := readN(t, sub, len(pkt)); !bytes.Equal(got, pkt) {
		t.Fatal("the forwarded publish differs")
	}
}

// TestQueueWithoutBatch writes from a goroutine that is not a worker.
func TestQueueWithoutBatch(t *testing.T) {
	h := newEcho(t)
	s := newTestServer(t, testConfig(), h)
	nc := dial(t, s, "tcp")
	mustWrite(t, nc, connectPacket(5, 0, "q"))
	if got := readN(t, nc, 5); !bytes.Equal(got, []byte{0x20, 3, 0, 0, 0}) {
		t.Fatalf("connack %x", got)
	}
	c := h.conn(t)
	if r := c.Queue(nil, []byte{0xd0, 0}); r != Queued {
		t.Fatalf("queue: %v", r)
	}
	if got := readN(t, nc, 2); !bytes.Equal(got, []byte{0xd0, 0}) {
		t.Fatalf("got %x", got)
	}
	if c.PendingBytes() != 0 {
		t.Fatalf("pending %d", c.PendingBytes())
	}
	// Close from another goroutine: what is queued before it is written first.
	c.Queue(nil, []byte{0xe0, 0})
	c.Close(errDisconnect)
	if r := c.Queue(nil, []byte{0xd0, 0}); r != Closed {
		t.Fatalf("queue after close: %v", r)
	}
	if got := readN(t, nc, 2); !bytes.Equal(got, []byte{0xe0, 0}) {
		t.Fatalf("got %x", got)
	}
	expectEOF(t, nc)
	if ev := h.waitClosed(t); !errors.Is(ev.cause, errDisconnect) {
		t.Fatalf("cause %v", ev.cause)
	}
	c.Close(io.EOF) // idempotent
}

// TestKeepaliveTimeout: after SetReadTimeout a silent client is closed with
// ErrKeepalive; traffic before the timeout keeps it open.
func TestKeepaliveTimeout(t *testing.T) {
	h := newEcho(t)
	h.readTO = 300 * time.Millisecond
	s := newTestServer(t, testConfig(), h)
	nc := dial(t, s, "tcp")
	mustWrite(t, nc, connectPacket(4, 1, "ka"))
	readN(t, nc, 4)
	start := time.Now()
	for range 4 { // 4 x 150 ms of pings: longer than one timeout
		time.Sleep(150 * time.Millisecond)
		mustWrite(t, nc, []byte{0xc0, 0})
		readN(t, nc, 2)
	}
	expectEOF(t, nc)
	ev := h.waitClosed(t)
	if !errors.Is(ev.cause, ErrKeepalive) {
		t.Fatalf("cause %v, want ErrKeepalive", ev.cause)
	}
	if d := time.Since(start); d < 600*time.Millisecond+300*time.Millisecond {
		t.Fatalf("closed after %v: the pings did not re-arm the timeout", d)
	}
}

// TestConnectTimeout: no complete packet within ConnectTimeout closes with
// ErrConnectTimeout, also with half a packet received.
func TestConnectTimeout(t *testing.T) {
	h := newEcho(t)
	cfg := testConfig()
	cfg.ConnectTimeout = 200 * time.Millisecond
	s := newTestServer(t, cfg, h)
	for _, pre := range [][]byte{nil, connectPacket(4, 0, "half")[:7]} {
		nc := dial(t, s, "tcp")
		if pre != nil {
			mustWrite(t, nc, pre)
		}
		expectEOF(t, nc)
		if ev := h.waitClosed(t); !errors.Is(ev.cause, ErrConnectTimeout) {
			t.Fatalf("cause %v, want ErrConnectTimeout", ev.cause)
		}
	}
	// A complete first packet ends the connect timeout (no keepalive set).
	nc := dial(t, s, "tcp")
	mustWrite(t, nc, connectPacket(4, 0, "ok"))
	readN(t, nc, 4)
	time.Sleep(400 * time.Millisecond) // two connect timeouts: must stay open
	mustWrite(t, nc, []byte{0xc0, 0})
	readN(t, nc, 2)
}

// TestMalformed: a bad remaining length and a packet above MaxPacketSize reach
// Malformed; what it queues is written before the close.
func TestMalformed(t *testing.T) {
	h := newEcho(t)
	h.tooLarge = []byte{0xe0, 2, 0x95, 0}
	cfg := testConfig()
	cfg.MaxPacketSize = 100
	s := newTestServer(t, cfg, h)
	cases := []struct {
		send []byte
		want error
	}{
		{[]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrMalformed},
		{append(appendRemaining([]byte{0x30}, 200), 0, 1), ErrPacketTooLarge},
		{[]byte{0xc1, 0}, ErrMalformed}, // PINGREQ with flags
	}
	for _, tc := range cases {
		nc := dial(t, s, "tcp")
		mustWrite(t, nc, connectPacket(5, 0, "m"))
		readN(t, nc, 5)
		mustWrite(t, nc, tc.send)
		if got := readN(t, nc, 4); !bytes.Equal(got, h.tooLarge) {
			t.Fatalf("got %x", got)
		}
		expectEOF(t, nc)
		if ev := h.waitClosed(t); !errors.Is(ev.cause, tc.want) {
			t.Fatalf("cause %v, want %v", ev.cause, tc.want)
		}
	}
}

// TestServerClose: open connections get ErrServerClosed, pending output is
// flushed first, Close is idempotent and goroutines return to the baseline
// (checked by the cleanup).
func TestServerClose(t *testing.T) {
	h := newEcho(t)
	s := newTestServer(t, testConfig(), h)
	var ncs []net.Conn
	for range 5 {
		nc := dial(t, s, "tcp")
		mustWrite(t, nc, connectPacket(4, 0, "c"))
		readN(t, nc, 4)
		ncs = append(ncs, nc)
	}
	waitFor(t, "5 open", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.conns) == 5 })
	for _, c := range h.others(nil) {
		c.Queue(nil, []byte{0xe0, 0})
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if ev := h.waitClosed(t); !errors.Is(ev.cause, ErrServerClosed) {
			t.Fatalf("cause %v", ev.cause)
		}
	}
	for _, nc := range ncs {
		if got := readN(t, nc, 2); !bytes.Equal(got, []byte{0xe0, 0}) {
			t.Fatalf("got %x", got)
		}
		expectEOF(t, nc)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", s.Addr("tcp").String()); err == nil {
		t.Fatal("still accepting after Close")
	}
}

// TestGuardAdmission: the Guard's MaxConnections refuses the second socket at
// accept time (the Handler never sees it).
func TestGuardAdmission(t *testing.T) {
	h := newEcho(t)
	lim := listen.DefaultLimits()
	lim.MaxConnections = 1
	s := newTestServerGuard(t, testConfig(), h, lim)
	nc := dial(t, s, "tcp")
	mustWrite(t, nc, connectPacket(4, 0, "one"))
	readN(t, nc, 4)
	nc2 := dial(t, s, "tcp")
	mustWrite(t, nc2, connectPacket(4, 0, "two"))
	// The Guard's answerer replies CONNACK 3 (server unavailable) and closes.
	if got := readN(t, nc2, 4); got[0] != 0x20 || got[3] != 3 {
		t.Fatalf("refusal %x", got)
	}
	expectEOF(t, nc2)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.opened != 1 {
		t.Fatalf("opened %d", h.opened)
	}
}

func mustWrite(t *testing.T, nc net.Conn, b []byte) {
	t.Helper()
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
}
