package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/imqtt/imqtt/broker/listen"
)

// recordSize is the largest TLS record payload: a flush encrypts pending
// plaintext in writes of up to this many bytes (one record each).
const recordSize = 16 << 10

// tlsLayer is a TLS connection's state, allocated only for tls and wss
// connections. It is also the net.Conn under the tls.Conn:
//
//   - Read: blocking during the handshake (on a handshake worker, under the
//     connect deadline), then non-blocking: errWouldBlock on EAGAIN, a temporary
//     net.Error that crypto/tls does not make sticky, so a record split across
//     reads stays inside the tls.Conn until its rest arrives.
//   - Write: blocking during the handshake; then it never touches the socket: it
//     appends the ciphertext to staged and returns len(p). crypto/tls makes every
//     write error permanent, so it must never see EAGAIN; the flush moves staged
//     into the connection's pending output and writes it non-blocking like plain
//     TCP.
//   - Deadlines: after the handshake crypto/tls's own (close_notify sets a 5 s
//     write deadline, then now) are ignored: the socket's deadlines belong to
//     the reader (keepalive) and the writer (WriteTimeout).
//
// Lock order: Conn.wmu -> tls.Conn's write lock -> mu. A tls.Conn write can also
// start inside a Read (a TLS 1.3 KeyUpdate answer) without Conn.wmu; its bytes wait
// in staged until the worker flushes after the batch.
type tlsLayer struct {
	*net.TCPConn
	c    *Conn
	conn *tls.Conn
	// hs is what Read returns before reading the socket during the handshake
	// (tlshello.go): bytes read past a PROXY header, the re-cut ClientHello.
	// Dropped once drained. Read side only.
	hs *tlsHello

	plain pending // plaintext queued by Conn.Queue; guarded by Conn.wmu

	mu       sync.Mutex
	nonblock bool   // set (under Conn.wmu) by the handshake worker before the handoff to the reader
	staged   []byte // ciphertext not yet in Conn.out; guarded by mu
}

func (l *tlsLayer) Read(p []byte) (int, error) {
	if h := l.hs; h != nil && len(p) > 0 {
		if n := h.read(l.TCPConn, p); n > 0 {
			return n, nil
		}
		l.hs = nil // drained: an idle connection keeps no handshake state
	}
	if !l.nonblock {
		return l.TCPConn.Read(p)
	}
	return readNB(l.c.rc, p)
}

func (l *tlsLayer) Write(p []byte) (int, error) {
	if !l.nonblock {
		return l.TCPConn.Write(p)
	}
	l.mu.Lock()
	l.staged = append(l.staged, p...)
	l.mu.Unlock()
	return len(p), nil
}

// SetDeadline, SetReadDeadline and SetWriteDeadline reach the socket only
// during the handshake (which sets none itself).
func (l *tlsLayer) SetDeadline(t time.Time) error {
	if l.nonblock {
		return nil
	}
	return l.TCPConn.SetDeadline(t)
}

func (l *tlsLayer) SetReadDeadline(t time.Time) error {
	if l.nonblock {
		return nil
	}
	return l.TCPConn.SetReadDeadline(t)
}

func (l *tlsLayer) SetWriteDeadline(t time.Time) error {
	if l.nonblock {
		return nil
	}
	return l.TCPConn.SetWriteDeadline(t)
}

// closeNotifyLocked queues a TLS close_notify alert behind c's pending output,
// on a graceful close of an established tls or wss connection: pending
// plaintext is encrypted first, then the alert record is staged like any
// ciphertext, written by the flush or the writer (bounded by WriteTimeout,
// never blocking the caller). Once sent, crypto/tls refuses further writes.
// Caller holds c.wmu and has set wClosing.
func (c *Conn) closeNotifyLocked() {
	l := c.tl
	if l == nil || !l.nonblock || c.wflags&wSockClosed != 0 {
		return
	}
	if err := c.encodeLocked(); err != nil {
		c.failLocked(err)
		return
	}
	_ = l.conn.CloseWrite() // cannot fail: Write only appends to staged
	l.mu.Lock()
	if len(l.staged) > 0 {
		c.out.add(l.staged, &c.s.chunks)
		l.staged = nil
	}
	l.mu.Unlock()
}

// hasStaged reports whether ciphertext waits in staged.
func (l *tlsLayer) hasStaged() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.staged) > 0
}

// encodeLocked frames WebSocket output (ws, wss), encrypts c's pending plaintext into pending ciphertext (records of
// up to recordSize) and moves staged ciphertext into c.out. Caller holds c.wmu.
func (c *Conn) encodeLocked() error {
	if c.ws != nil {
		c.encodeWSLocked()
	}
	l := c.tl
	if l == nil {
		return nil
	}
	if l.plain.n > 0 {
		bp := c.s.recBufs.Get().(*[]byte)
		rec := (*bp)[:0]
		var vs [16][]byte
		var err error
		for _, v := range l.plain.views(vs[:0]) {
			for len(v) > 0 && err == nil {
				m := min(len(v), recordSize-len(rec))
				rec = append(rec, v[:m]...)
				v = v[m:]
				if len(rec) == recordSize {
					_, err = l.conn.Write(rec)
					rec = rec[:0]
				}
			}
		}
		if len(rec) > 0 && err == nil {
			_, err = l.conn.Write(rec)
		}
		clear(vs[:])
		c.s.recBufs.Put(bp)
		l.plain.consume(l.plain.n, &c.s.chunks)
		if err != nil {
			return err
		}
	}
	l.mu.Lock()
	if len(l.staged) > 0 {
		c.out.add(l.staged, &c.s.chunks)
		l.staged = nil // an idle connection keeps no ciphertext buffer
	}
	l.mu.Unlock()
	return nil
}

// handshakeTLS runs the TLS handshake on a handshake worker with blocking I/O
// under the connect deadline. handshake switches the layer to non-blocking reads
// and buffered writes afterwards (after the WebSocket upgrade for wss).
// rest is what the PROXY step read past its header.
func (s *Server) handshakeTLS(c *Conn, rest []byte) error {
	l := &tlsLayer{TCPConn: c.tc, c: c, hs: &tlsHello{pre: rest}}
	l.conn = tls.Server(l, c.l.tls.ServerConfig())
	_ = c.tc.SetWriteDeadline(time.Now().Add(s.cfg.ConnectTimeout))
	if err := l.conn.Handshake(); err != nil {
		reason := listen.ReasonTLSHandshake
		if errors.Is(err, os.ErrDeadlineExceeded) {
			reason = listen.ReasonConnectTimeout
			err = fmt.Errorf("%w: tls handshake: %w", ErrConnectTimeout, err)
		} else {
			err = fmt.Errorf("tls handshake: %w", err)
		}
		s.guard.Reject(c.l.id, c.remote.String(), reason, err)
		return err
	}
	_ = c.tc.SetWriteDeadline(time.Time{})
	c.wmu.Lock()
	c.tl = l
	c.wmu.Unlock()
	return nil
}
