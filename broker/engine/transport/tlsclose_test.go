package transport

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// eofConn records whether the socket itself reached EOF, and every byte read.
type eofConn struct {
	net.Conn
	mu  sync.Mutex
	eof bool
	raw []byte
}

func (c *eofConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.raw = append(c.raw, p[:n]...)
	if errors.Is(err, io.EOF) {
		c.eof = true
	}
	c.mu.Unlock()
	return n, err
}

// lastRecordType walks the TLS records in raw and returns the last one's type.
func lastRecordType(raw []byte) byte {
	var typ byte
	for len(raw) >= 5 {
		typ = raw[0]
		n := 5 + (int(raw[3])<<8 | int(raw[4]))
		if n > len(raw) {
			break
		}
		raw = raw[n:]
	}
	return typ
}

// TestTLSCloseNotify: a graceful Conn.Close sends close_notify after every
// queued byte, also when a writer goroutine holds a backlog: the client's TLS
// stream ends (io.EOF) on the alert, before its socket reads EOF. With TLS 1.2
// the last record is visibly an alert (type 21).
func TestTLSCloseNotify(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version uint16
		backlog int
	}{
		{"tls1.2", tls.VersionTLS12, 0},
		{"tls1.3", tls.VersionTLS13, 0},
		{"tls1.3 backlog", tls.VersionTLS13, 8 << 20}, // above the socket buffers (autotuned up to 4 MiB)
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ct := tlsTestConfig(t)
			h := newEcho(t)
			s := newTestServer(t, cfg, h)
			ct = ct.Clone()
			ct.MinVersion, ct.MaxVersion = tc.version, tc.version
			raw := dial(t, s, "tls")
			if tc.backlog > 0 {
				raw = dialSlow(t, s, "tls") // a 4 KiB receive buffer: the writer takes over
			}
			ec := &eofConn{Conn: raw}
			cl := tls.Client(ec, ct)
			_ = cl.SetDeadline(time.Now().Add(5 * time.Second))
			mustWrite(t, cl, connectPacket(4, 0, "c"))
			readN(t, cl, 4)

			c := h.conn(t)
			want := []byte{0xe0, 0} // a DISCONNECT, after a backlog of PUBLISH bytes
			if tc.backlog > 0 {
				body := append([]byte{0, 1, 't'}, bytes.Repeat([]byte{'x'}, tc.backlog)...)
				want = append(append(appendRemaining([]byte{0x30}, len(body)), body...), want...)
			}
			if r := c.Queue(nil, want); r != Queued && r != QueuedFull {
				t.Fatalf("queue: %v", r)
			}
			c.Close(nil)
			c.wmu.Lock()
			busy := c.wflags&wBusy != 0
			c.wmu.Unlock()
			if busy != (tc.backlog > 0) {
				t.Fatalf("writer busy = %v at Close", busy)
			}
			got := readN(t, cl, len(want))
			if !bytes.Equal(got, want) {
				t.Fatal("queued output differs")
			}
			_ = cl.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := cl.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("after the output: %d, %v; want io.EOF", n, err)
			}
			ec.mu.Lock()
			eof, last := ec.eof, lastRecordType(ec.raw)
			ec.mu.Unlock()
			if eof {
				t.Fatal("the TLS stream ended at the socket's EOF: no close_notify")
			}
			if tc.version == tls.VersionTLS12 && last != 21 {
				t.Fatalf("last record type %d, want 21 (alert)", last)
			}
			if ev := h.waitClosed(t); !errors.Is(ev.cause, ErrClosed) {
				t.Fatalf("cause %v", ev.cause)
			}
		})
	}
}
