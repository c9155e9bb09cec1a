package listen

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// CloseLinger bounds a graceful close: after mochi closes a connection, the peer
// gets the bytes already written (a DISCONNECT), a WebSocket close frame and TLS
// close_notify where they apply, then FIN; unread input is drained for at most
// this long before the socket is closed, so the close does not turn into a RST
// that could destroy the DISCONNECT in flight.
const CloseLinger = 200 * time.Millisecond

// shutdownWriteTimeout bounds writes to clients once the listener is closing, so
// mochi's DISCONNECT 0x8B to a client that stopped reading cannot stall Close.
const shutdownWriteTimeout = time.Second

// conn is the net.Conn handed to mochi for every accepted client (after TLS and
// the WebSocket upgrade). It
//   - sets a read deadline of accept time + ConnectTimeout before mochi reads, and
//     passes mochi's own SetDeadline calls (keepalive, after CONNECT) through;
//   - checks the fixed header of the first packet as it passes through Read
//     (CONNECT, remaining length within MaxFirstPacket) and stops parsing after it;
//   - closes gracefully without blocking the caller (see CloseLinger);
//   - is closed once: Close is idempotent.
//
// Read is called by one goroutine (mochi's client read loop); the other methods
// may be called concurrently with it and with each other.
type conn struct {
	inner net.Conn        // the byte stream mochi uses: TCP, TLS or the ws adapter
	raw   *admittedConn   // the TCP socket underneath
	tls   *tls.Conn       // nil unless tls or wss
	ws    *websocket.Conn // nil unless ws or wss
	l     *Listener

	fp     firstPacket // reader goroutine only
	fpDone bool        // reader goroutine only

	mochiDeadline atomic.Bool // mochi set a deadline: CONNECT is done, the timeout is mochi's
	shutdown      atomic.Bool // the listener is closing: write deadlines are ours
	refused       atomic.Bool // a reason was reported already
	closed        atomic.Bool
}

func newConn(l *Listener, inner net.Conn, raw *admittedConn, tc *tls.Conn, ws *websocket.Conn) *conn {
	c := &conn{
		inner: inner,
		raw:   raw,
		tls:   tc,
		ws:    ws,
		l:     l,
		fp:    firstPacket{max: uint32(l.g.lim.MaxFirstPacket)},
	}
	// mochi sets no deadline before CONNECT: ours bounds the whole connect phase.
	_ = raw.SetReadDeadline(raw.accepted.Add(l.g.lim.ConnectTimeout))
	_ = raw.SetWriteDeadline(time.Time{})
	return c
}

// Read reads mochi's byte stream and judges the first packet's fixed header.
func (c *conn) Read(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	n, err := c.inner.Read(p)
	if !c.fpDone && n > 0 {
		switch c.fp.feed(p[:n]) {
		case verdictOK:
			c.fpDone = true
		case verdictNotConnect:
			return 0, c.refuse(ReasonFirstPacketType, ErrFirstPacketNotConnect)
		case verdictTooLarge:
			return 0, c.refuse(ReasonFirstPacketSize, ErrFirstPacketTooLarge)
		case verdictMalformed:
			return 0, c.refuse(ReasonFirstPacketMalformed, ErrMalformedLength)
		}
	}
	if err != nil {
		if !c.mochiDeadline.Load() && isTimeout(err) && !c.closed.Load() && c.refused.CompareAndSwap(false, true) {
			c.l.g.reject(c.l.id, c.remote(), ReasonConnectTimeout, err)
		}
		return n, err
	}
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	return n, nil
}

// refuse reports reason, closes the connection and returns err for mochi.
func (c *conn) refuse(reason string, err error) error {
	if c.refused.CompareAndSwap(false, true) {
		c.l.g.reject(c.l.id, c.remote(), reason, err)
	}
	_ = c.Close()
	return err
}

// Write writes to the stream.
func (c *conn) Write(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	return c.inner.Write(p)
}

// SetDeadline is mochi's keepalive deadline; from then on the connect timeout is
// no longer ours to report. Ignored once closed (the linger owns the deadlines).
func (c *conn) SetDeadline(t time.Time) error {
	if c.closed.Load() {
		return nil
	}
	c.mochiDeadline.Store(true)
	if c.shutdown.Load() {
		return c.inner.SetReadDeadline(t)
	}
	return c.inner.SetDeadline(t)
}

// SetReadDeadline sets the read deadline; see SetDeadline.
func (c *conn) SetReadDeadline(t time.Time) error {
	if c.closed.Load() {
		return nil
	}
	c.mochiDeadline.Store(true)
	return c.inner.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline unless the listener is closing.
func (c *conn) SetWriteDeadline(t time.Time) error {
	if c.closed.Load() || c.shutdown.Load() {
		return nil
	}
	return c.inner.SetWriteDeadline(t)
}

// LocalAddr returns the listener side address.
func (c *conn) LocalAddr() net.Addr { return c.raw.LocalAddr() }

// RemoteAddr returns the peer's address.
func (c *conn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

func (c *conn) remote() string { return c.raw.RemoteAddr().String() }

// beginShutdown bounds writes from now on (listener Close).
func (c *conn) beginShutdown(deadline time.Time) {
	c.shutdown.Store(true)
	_ = c.inner.SetWriteDeadline(deadline)
}

// Close closes the connection gracefully and returns at once; a linger goroutine
// owned by the listener finishes the job within CloseLinger. Idempotent.
func (c *conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	c.l.untrack(c)
	now := time.Now()
	c.raw.pin()
	if !c.l.lingerStart() {
		return c.raw.Close()
	}
	// Wake a reader blocked in Read (mochi's read loop) now, and bound any write in
	// progress and the goodbye by the linger.
	_ = c.raw.TCPConn.SetReadDeadline(now)
	_ = c.raw.TCPConn.SetWriteDeadline(now.Add(CloseLinger))
	go c.linger(now.Add(CloseLinger))
	return nil
}

// linger says goodbye at every layer, half-closes the socket, drains unread input
// until the peer closes or the deadline passes, then closes the socket (which
// releases its Guard slot). Deadline calls from the layers above are ignored on a
// pinned socket, so nothing here outlives the deadline.
func (c *conn) linger(deadline time.Time) {
	defer c.l.lingerDone()
	tcp := c.raw.TCPConn
	_ = tcp.SetDeadline(deadline)
	if c.ws != nil {
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), deadline)
	}
	if c.tls != nil && c.tls.ConnectionState().HandshakeComplete {
		_ = c.tls.CloseWrite() // close_notify
	}
	if err := tcp.CloseWrite(); err == nil {
		_, _ = io.Copy(io.Discard, tcp)
	}
	_ = c.raw.Close()
}

// ConnectionState returns the TLS state of a connection accepted by a tls or wss
// listener (peer certificates for mTLS identity, version, cipher suite). ok is
// false for other connections.
func ConnectionState(c net.Conn) (state tls.ConnectionState, ok bool) {
	gc, isOurs := c.(*conn)
	if !isOurs || gc.tls == nil {
		return tls.ConnectionState{}, false
	}
	return gc.tls.ConnectionState(), true
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
