package transport

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/listen"
)

// capture is a client-side net.Conn that, once capturing, keeps what the
// tls.Client writes instead of sending it.
type capture struct {
	net.Conn
	mu   sync.Mutex
	on   bool
	data []byte
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.on {
		c.data = append(c.data, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// TestCryptoTLSReadErrorsNotSticky pins the crypto/tls behaviour the TLS read
// path depends on: a Read that fails with errWouldBlock (a temporary net.Error)
// in the middle of a record does not poison the tls.Conn; the next Read, after
// the rest of the record arrived, returns the plaintext. If a Go release makes
// temporary read errors sticky, this test fails and TLS connections would die on
// the first record split across TCP reads: the read path must then change (e.g.
// buffer whole records before calling tls.Conn.Read).
func TestCryptoTLSReadErrorsNotSticky(t *testing.T) {
	lt, ct := testCert(t)
	src, err := listen.NewTLSSource(lt)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		tc  *net.TCPConn
		err error
	}
	acc := make(chan result, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			acc <- result{nil, err}
			return
		}
		acc <- result{nc.(*net.TCPConn), nil}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	r := <-acc
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.tc.Close()
	rc, err := r.tc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	c := &Conn{tc: r.tc, rc: rc}
	l := &tlsLayer{TCPConn: r.tc, c: c}
	l.conn = tls.Server(l, src.ServerConfig())

	capt := &capture{Conn: raw}
	cl := tls.Client(capt, ct)
	hs := make(chan error, 1)
	go func() { hs <- cl.Handshake() }()
	_ = r.tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := l.conn.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-hs; err != nil {
		t.Fatal(err)
	}
	_ = r.tc.SetDeadline(time.Time{})
	l.nonblock = true

	capt.mu.Lock()
	capt.on = true
	capt.mu.Unlock()
	msg := []byte("hello, non-blocking tls")
	if _, err := cl.Write(msg); err != nil {
		t.Fatal(err)
	}
	capt.mu.Lock()
	rec := capt.data
	capt.mu.Unlock()
	if len(rec) < 10 {
		t.Fatalf("record of %d bytes", len(rec))
	}

	buf := make([]byte, 256)
	// Nothing sent yet, then 3 bytes (inside the record header), then 7 more
	// (inside the body): each Read must fail with errWouldBlock, not stick.
	for _, part := range [][]byte{nil, rec[:3], rec[3:10]} {
		if len(part) > 0 {
			if _, err := raw.Write(part); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "bytes readable", func() bool { return len(part) == 0 || readablePeek(t, rc) })
		n, err := l.conn.Read(buf)
		if n != 0 || !errors.Is(err, errWouldBlock) {
			t.Fatalf("after %d bytes: Read = %d, %v; want errWouldBlock", len(part), n, err)
		}
	}
	if _, err := raw.Write(rec[10:]); err != nil {
		t.Fatal(err)
	}
	var got []byte
	waitFor(t, "the plaintext", func() bool {
		n, err := l.conn.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil && !errors.Is(err, errWouldBlock) {
			t.Fatalf("Read after the rest arrived: %v (crypto/tls made the error sticky?)", err)
		}
		return len(got) >= len(msg)
	})
	if !bytes.Equal(got, msg) {
		t.Fatalf("got %q", got)
	}
}

// readablePeek reports whether the socket has bytes (MSG_PEEK, no wait).
func readablePeek(t *testing.T, rc interface {
	Control(func(uintptr)) error
}) bool {
	t.Helper()
	var ok bool
	if err := rc.Control(func(fd uintptr) { ok = peekReady(fd) }); err != nil {
		t.Fatal(err)
	}
	return ok
}

// peekReady reports whether fd has a byte to read now (MSG_PEEK, no wait).
func peekReady(fd uintptr) bool {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err == nil && n > 0
}
