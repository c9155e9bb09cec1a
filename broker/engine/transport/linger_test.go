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
)

// oversized returns a PUBLISH of n body bytes (above any small MaxPacketSize).
func oversized(n int) []byte {
	body := append([]byte{0, 1, 't'}, make([]byte, n-3)...)
	return append(appendRemaining([]byte{0x30}, len(body)), body...)
}

// expectCleanEOF reads until the stream ends within 5 s: io.EOF, not a reset.
func expectCleanEOF(t *testing.T, nc net.Conn) {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.Copy(io.Discard, nc)
	if err != nil || n != 0 {
		t.Fatalf("after the DISCONNECT: %d bytes, %v; want a clean EOF", n, err)
	}
}

// TestLingerOversized: an oversized packet sent in one large write (4 MiB,
// above the loopback socket buffers) gets the DISCONNECT 0x95 that Malformed
// queues, 20 times out of 20: the client's write completes (the linger drains
// it) and the client reads the DISCONNECT and a clean EOF, no reset. On tls
// the DISCONNECT comes before close_notify.
func TestLingerOversized(t *testing.T) {
	const size = 4 << 20
	disc := []byte{0xe0, 2, 0x95, 0}
	for _, tc := range []struct {
		listener string
		runs     int
	}{{"tcp", 20}, {"tls", 5}} {
		t.Run(tc.listener, func(t *testing.T) {
			h := newEcho(t)
			h.tooLarge = disc
			cfg, ct := tlsTestConfig(t)
			cfg.MaxPacketSize = 1024
			s := newTestServer(t, cfg, h)
			pkt := oversized(size)
			for i := range tc.runs {
				var nc net.Conn = dial(t, s, tc.listener)
				if tc.listener == "tls" {
					nc = tls.Client(nc, ct)
				}
				_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
				mustWrite(t, nc, connectPacket(5, 0, "big"))
				readN(t, nc, 5)
				if _, err := nc.Write(pkt); err != nil {
					t.Fatalf("run %d: write: %v", i, err)
				}
				if got := readN(t, nc, len(disc)); !bytes.Equal(got, disc) {
					t.Fatalf("run %d: got %x, want %x", i, got, disc)
				}
				expectCleanEOF(t, nc)
				if ev := h.waitClosed(t); !errors.Is(ev.cause, ErrPacketTooLarge) {
					t.Fatalf("run %d: cause %v", i, ev.cause)
				}
				_ = nc.Close()
			}
			waitFor(t, "no lingering socket", func() bool { return s.lingering.Load() == 0 })
		})
	}
}

// lingerOne closes a connection whose client stays silent and open: it is
// left lingering (or closed at once beyond MaxLingering).
func lingerOne(t *testing.T, s *Server, h *echoHandler) net.Conn {
	t.Helper()
	nc := dial(t, s, "tcp")
	mustWrite(t, nc, connectPacket(4, 0, "l"))
	readN(t, nc, 4)
	c := h.conn(t)
	c.Queue(nil, []byte{0xe0, 0})
	c.Close(nil)
	if got := readN(t, nc, 2); !bytes.Equal(got, []byte{0xe0, 0}) {
		t.Fatalf("got %x", got)
	}
	expectCleanEOF(t, nc)
	if ev := h.waitClosed(t); !errors.Is(ev.cause, ErrClosed) {
		t.Fatalf("cause %v", ev.cause)
	}
	return nc
}

// TestLingerBounded: at most MaxLingering sockets linger; a linger ends at the
// client's EOF.
func TestLingerBounded(t *testing.T) {
	h := newEcho(t)
	cfg := testConfig()
	cfg.MaxLingering = 1
	cfg.CloseLinger = time.Minute
	s := newTestServer(t, cfg, h)
	a := lingerOne(t, s, h)
	if n := s.lingering.Load(); n != 1 {
		t.Fatalf("lingering %d, want 1", n)
	}
	b := lingerOne(t, s, h) // beyond the bound: closed at once
	if n := s.lingering.Load(); n != 1 {
		t.Fatalf("lingering %d, want 1", n)
	}
	// The second socket is fully closed: writing to it ends in a reset.
	waitFor(t, "a reset on the unlingered socket", func() bool {
		_, err := b.Write([]byte{0xc0, 0})
		return err != nil
	})
	_ = a.Close()
	waitFor(t, "the linger to end at the client's EOF", func() bool { return s.lingering.Load() == 0 })

}

// TestLingerTimeout: without the client's EOF a linger ends at CloseLinger.
func TestLingerTimeout(t *testing.T) {
	h := newEcho(t)
	cfg := testConfig()
	cfg.CloseLinger = 100 * time.Millisecond
	s := newTestServer(t, cfg, h)
	lingerOne(t, s, h)
	waitFor(t, "the linger to end at CloseLinger", func() bool { return s.lingering.Load() == 0 })
}

// TestLingerServerCloseCuts: Server.Close does not wait for lingers (here a
// minute each): the lingering sockets and the connections it closes itself
// are closed at once; the cleanup checks that no goroutine is left.
func TestLingerServerCloseCuts(t *testing.T) {
	h := newEcho(t)
	cfg := testConfig()
	cfg.CloseLinger = time.Minute
	s := newTestServer(t, cfg, h)
	for range 3 {
		lingerOne(t, s, h)
	}
	var open []net.Conn
	for range 3 {
		nc := dial(t, s, "tcp")
		mustWrite(t, nc, connectPacket(4, 0, "o"))
		readN(t, nc, 4)
		open = append(open, nc)
	}
	start := time.Now()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v with lingering sockets", d)
	}
	for _, nc := range open {
		expectCleanEOF(t, nc)
	}
	if n := s.lingering.Load(); n != 0 {
		t.Fatalf("lingering %d after Close", n)
	}
}
