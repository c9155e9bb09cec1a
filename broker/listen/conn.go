package listen

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
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

// yieldMaxPackets is the largest read (in packets started) after which Read
// yields before handing a PUBLISH to mochi.
//
// orderYield: mochi serves each connection in its own goroutine, so a PUBLISH
// that reaches the server just after another connection's SUBSCRIBE (a
// request/response pair, a test script with two clients) is often routed before
// that SUBSCRIBE is processed, although both were readable in the same network
// poll. Yielding once lets those goroutines run first. The yield costs little
// where it is taken (a read holding one or two packets: interactive traffic) and is
// skipped on reads of a flood, where many packets arrive per read and ordering
// across connections is not observable anyway. It narrows the window; it cannot
// close it (a SUBSCRIBE not yet polled is not seen), and MQTT guarantees no order
// across connections.
const yieldMaxPackets = 2

// conn is the net.Conn handed to mochi for every accepted client (after TLS and
// the WebSocket upgrade). It
//   - sets a read deadline of accept time + ConnectTimeout before mochi reads, and
//     passes mochi's own SetDeadline calls (keepalive, after CONNECT) through;
//   - checks the fixed header of the first packet as it passes through Read
//     (CONNECT, remaining length within MaxFirstPacket); with MaxPacketSize set it
//     follows the packet boundaries after it and refuses an oversized packet (a
//     DISCONNECT 0x95 first for MQTT 5), otherwise it stops parsing;
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

	// Reader goroutine only: the packet tracker, the stream bytes returned to
	// mochi, a refusal held back until the bytes before it are read, and the
	// incomplete fixed header held back from mochi until it is complete.
	ps        packetStream
	delivered uint64
	pending   verdict
	carry     [4]byte
	carryN    int

	// wmu serialises writes to inner: mochi's (whole packets per Write, serialised
	// by mochi's client lock) and the reader's DISCONNECT on a refusal.
	wmu       sync.Mutex
	writeShut bool // under wmu: the refusal's DISCONNECT went out, nothing may follow
	// Under wmu: writes held while corked (cork.go), and the error of a
	// held write's flush, returned by the next Write.
	corked bool
	held   []byte
	werr   error
	corkOn atomic.Bool // corked, readable without wmu

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
		ps:    newPacketStream(uint32(l.g.lim.MaxFirstPacket), uint32(l.g.lim.MaxPacketSize)),
	}
	// mochi sets no deadline before CONNECT: ours bounds the whole connect phase.
	_ = raw.SetReadDeadline(raw.accepted.Add(l.g.lim.ConnectTimeout))
	_ = raw.SetWriteDeadline(time.Time{})
	return c
}

// Read reads mochi's byte stream and judges packet headers as they pass (see
// packetStream). No byte of a refused packet reaches mochi: Read returns the
// bytes before it, and the refusal on the next call; while packets are tracked, a
// fixed header is only returned once complete (p shorter than 4 bytes aside).
func (c *conn) Read(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	if c.pending != verdictOK {
		return 0, c.refuseVerdict(c.pending)
	}
	if !c.ps.off() || c.carryN > 0 {
		return c.readTracked(p)
	}
	n, err := c.inner.Read(p)
	return c.readDone(n, err)
}

// readTracked is Read while packets are tracked: it returns the carried header
// bytes and what follows, minus a refused packet and an incomplete header at the
// end (carried to the next call).
func (c *conn) readTracked(p []byte) (int, error) {
	h := copy(p, c.carry[:c.carryN])
	if h < c.carryN { // a tiny p: hand the header on in pieces
		c.carryN = copy(c.carry[:], c.carry[h:c.carryN])
		c.delivered += uint64(h)
		return h, nil
	}
	c.carryN = 0
	for {
		n, err := c.inner.Read(p[h:])
		if n > 0 {
			if v := c.ps.feed(p[h : h+n]); v != verdictOK {
				pass := int(min(c.ps.refusedAt()-min(c.ps.refusedAt(), c.delivered), uint64(h+n)))
				if pass == 0 {
					return 0, c.refuseVerdict(v)
				}
				c.pending = v
				c.delivered += uint64(pass)
				return pass, nil
			}
			h += n
		}
		if hold := c.ps.partialHeader(); hold > 0 && err == nil && !c.closed.Load() {
			if hold < h {
				c.carryN = copy(c.carry[:], p[h-hold:h])
				h -= hold
			} else if h < len(p) {
				continue // only a partial header so far: read on
			}
		}
		c.delivered += uint64(h)
		if err == nil && c.ps.chunkPublishs > 0 && c.ps.chunkPackets <= yieldMaxPackets {
			// Cross-connection order: let the goroutines the same network poll
			// woke (a SUBSCRIBE sent just before this PUBLISH on another
			// connection) run before mochi routes the PUBLISH. See orderYield.
			runtime.Gosched()
		}
		return c.readDone(h, err)
	}
}

// readDone finishes a Read: it counts a timeout before CONNECT as connect_timeout
// and reports a close that happened during the read.
func (c *conn) readDone(n int, err error) (int, error) {
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

// refuseVerdict closes the connection for a verdict of the packet stream. After
// the CONNECT, an MQTT 5 client first gets a DISCONNECT with the reason code.
func (c *conn) refuseVerdict(v verdict) error {
	switch v {
	case verdictNotConnect:
		return c.refuse(ReasonFirstPacketType, ErrFirstPacketNotConnect)
	case verdictTooLarge:
		return c.refuse(ReasonFirstPacketSize, ErrFirstPacketTooLarge)
	case verdictMalformed:
		if c.ps.first {
			return c.refuse(ReasonFirstPacketMalformed, ErrMalformedLength)
		}
		return c.refuseSession(ReasonMalformedLength, ErrMalformedLength, disconnectMalformed)
	default: // verdictPacketTooLarge
		return c.refuseSession(ReasonPacketTooLarge, ErrPacketTooLarge, disconnectTooLarge)
	}
}

// refuse reports reason, closes the connection and returns err for mochi.
func (c *conn) refuse(reason string, err error) error {
	if c.refused.CompareAndSwap(false, true) {
		c.l.g.reject(c.l.id, c.remote(), reason, err)
	}
	_ = c.Close()
	return err
}

// DISCONNECT packets (MQTT 5, no properties) sent when a packet after CONNECT
// is refused [MQTT-4.13.2-1].
var (
	disconnectTooLarge  = [...]byte{0xe0, 0x02, 0x95, 0x00} // 0x95 packet too large
	disconnectMalformed = [...]byte{0xe0, 0x02, 0x81, 0x00} // 0x81 malformed packet
)

// refuseSession refuses a packet of an established session: an MQTT 5 client
// gets the DISCONNECT (through the same path as mochi's writes, so as one
// WebSocket binary message, never inside another write), then the connection is
// closed and err returned for mochi, which ends the session. Counted, logged at
// debug.
func (c *conn) refuseSession(reason string, err error, disconnect [4]byte) error {
	if c.refused.CompareAndSwap(false, true) {
		c.l.g.refusePacket(c.l.id, c.remote(), reason, err)
	}
	// A mochi write stuck on a client that does not read must not hold the
	// DISCONNECT (and this reader) for long: bound it, then take the lock.
	_ = c.inner.SetWriteDeadline(time.Now().Add(shutdownWriteTimeout))
	c.wmu.Lock()
	c.flushHeldLocked() // what mochi wrote before the refusal goes first
	if !c.writeShut && !c.closed.Load() && c.ps.v5() {
		_, _ = c.inner.Write(disconnect[:])
	}
	c.writeShut = true
	c.wmu.Unlock()
	_ = c.Close()
	return err
}

// Write writes to the stream; nothing is written after a refusal's DISCONNECT.
func (c *conn) Write(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.writeShut {
		return 0, net.ErrClosed
	}
	if c.werr != nil {
		return 0, c.werr
	}
	if c.corked {
		if len(c.held)+len(p) <= maxHeld {
			c.held = append(c.held, p...)
			return len(p), nil
		}
		c.flushHeldLocked() // a backlog is not held in memory
		if c.werr != nil {
			return 0, c.werr
		}
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
	c.Uncork() // the held writes (a reply, a DISCONNECT) go before the goodbye
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
