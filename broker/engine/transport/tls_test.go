package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

// TestTLSPaho: a real MQTT 5 client over TLS; the handler sees the TLS state.
func TestTLSPaho(t *testing.T) {
	cfg, ct := tlsTestConfig(t)
	h := newEcho(t)
	s := newTestServer(t, cfg, h)
	nc := dialTLS(t, s, ct, false)
	// A Locker keeps paho's multi-Write packets whole over TLS (paho.golang #90).
	cl := paho.NewClient(paho.ClientConfig{Conn: packets.NewThreadSafeConn(nc)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ca, err := cl.Connect(ctx, &paho.Connect{ClientID: "tls", CleanStart: true, KeepAlive: 0})
	if err != nil || ca.ReasonCode != 0 {
		t.Fatalf("connect: %v %+v", err, ca)
	}
	c := h.conn(t)
	if st := c.TLS(); st == nil || !st.HandshakeComplete || st.Version < tls.VersionTLS12 {
		t.Fatalf("tls state %+v", st)
	}
	if c.Listener() != "tls" {
		t.Fatalf("listener %q", c.Listener())
	}
	if err := cl.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	if ev := h.waitClosed(t); !errors.Is(ev.cause, errDisconnect) {
		t.Fatalf("cause %v", ev.cause)
	}
}

// TestTLSBatchesAndLarge: many packets in one TLS write, a packet larger than a
// record and the read buffer, fan-out between a tls and a tcp client.
func TestTLSBatchesAndLarge(t *testing.T) {
	cfg, ct := tlsTestConfig(t)
	h := newEcho(t)
	s := newTestServer(t, cfg, h)
	sub := dialTLS(t, s, ct, false)
	mustWrite(t, sub, connectPacket(4, 0, "sub"))
	readN(t, sub, 4)
	mustWrite(t, sub, bytes.Repeat([]byte{0xc0, 0}, 500))
	if got := readN(t, sub, 1000); !bytes.Equal(got, bytes.Repeat([]byte{0xd0, 0}, 500)) {
		t.Fatal("pingresps differ")
	}
	pub := dial(t, s, "tcp")
	mustWrite(t, pub, connectPacket(4, 0, "pub"))
	readN(t, pub, 4)
	body := append([]byte{0, 1, 't'}, bytes.Repeat([]byte("tls!"), 30000)...)
	pkt := append(appendRemaining([]byte{0x30}, len(body)), body...)
	for range 3 {
		mustWrite(t, pub, pkt)
		if got := readN(t, sub, len(pkt)); !bytes.Equal(got, pkt) {
			t.Fatal("publish differs")
		}
	}
	_ = sub.Close()
	ev := h.waitClosed(t)
	if !errors.Is(ev.cause, io.EOF) && !errors.Is(ev.cause, errDisconnect) {
		t.Logf("cause %v", ev.cause) // a close_notify or a reset, both fine
	}
}

// TestTLSPauseOnSlowSubscriber: back-pressure through the ciphertext path: a TLS
// subscriber that does not read, a paused publisher, everything delivered.
func TestTLSPauseOnSlowSubscriber(t *testing.T) {
	cfg, ct := tlsTestConfig(t)
	cfg.MaxPendingBytes = 64 << 10
	h := newEcho(t)
	h.pauseMax = 30 * time.Second
	s := newTestServer(t, cfg, h)
	sub := dialTLS(t, s, ct, true)
	mustWrite(t, sub, connectPacket(4, 0, "sub"))
	readN(t, sub, 4)
	pub := dial(t, s, "tcp")
	mustWrite(t, pub, connectPacket(4, 0, "pub"))
	readN(t, pub, 4)
	const n = 2000
	body := append([]byte{0, 1, 't'}, make([]byte, 2048)...)
	pkt := append(appendRemaining([]byte{0x30}, len(body)), body...)
	werr := make(chan error, 1)
	go func() {
		for range n {
			if _, err := pub.Write(pkt); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	waitFor(t, "the publisher paused", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.pauses > 0 })
	_ = sub.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadFull(sub, make([]byte, n*len(pkt))); err != nil {
		t.Fatal(err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refused != 0 || h.maxPend > cfg.MaxPendingBytes+len(pkt) {
		t.Fatalf("refused %d, max pending %d", h.refused, h.maxPend)
	}
}

// TestTLSHandshakeFailures: garbage instead of a ClientHello, and silence, close
// the socket (connect timeout) without Open or Closed.
func TestTLSHandshakeFailures(t *testing.T) {
	cfg, _ := tlsTestConfig(t)
	cfg.ConnectTimeout = 200 * time.Millisecond
	h := newEcho(t)
	s := newTestServer(t, cfg, h)
	nc := dial(t, s, "tls")
	mustWrite(t, nc, connectPacket(4, 0, "plain"))
	expectEOFOrData(t, nc)
	nc2 := dial(t, s, "tls")
	start := time.Now()
	expectEOF(t, nc2)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("closed after %v, before the connect timeout", d)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.opened != 0 {
		t.Fatalf("opened %d", h.opened)
	}
}

// expectEOFOrData reads until EOF or a reset (a TLS alert may come first).
func expectEOFOrData(t *testing.T, nc net.Conn) {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("no EOF within 5s")
	}
}
