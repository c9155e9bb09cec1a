package transport

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/imqtt/imqtt/broker/listen"
)

// QueueResult is the outcome of Conn.Queue.
type QueueResult uint8

const (
	// Queued: p was queued; pending is below the bound.
	Queued QueueResult = iota
	// QueuedFull: p was queued and pending is now at or above the bound: back off
	// (Pause the producer on DrainSignal).
	QueuedFull
	// Refused: pending was already at or above the bound; nothing was queued.
	Refused
	// Closed: the connection is closing or closed; nothing was queued.
	Closed
)

func (r QueueResult) String() string {
	switch r {
	case Queued:
		return "queued"
	case QueuedFull:
		return "queued_full"
	case Refused:
		return "refused"
	case Closed:
		return "closed"
	}
	return "unknown"
}

// Write-side state bits (Conn.wflags, guarded by Conn.wmu).
const (
	wTouched    uint8 = 1 << iota // in a Batch's touched list
	wBusy                         // a writer goroutine owns the socket's writes
	wClosing                      // Close was called: no more output is accepted
	wSockClosed                   // no more writes: the socket is closed or half-closed
	wLinger                       // half-closed and still open: the reader lingers, then closes it (linger.go)
)

// Conn is one client connection. Its methods are safe for concurrent use unless
// they say otherwise. Every byte counts: an idle connection holds this struct and
// the socket (epoll: plus a slot in the fd table, maybe one in the deadline
// wheel; goroutine poller: plus a 1-slot channel and its reader goroutine),
// nothing else.
type Conn struct {
	s  *Server
	l  *listener
	tc *net.TCPConn
	rc syscall.RawConn

	slot   listen.Slot
	remote netip.AddrPort
	data   any
	done   chan error // the reader's handoff slot: a worker answers here (goroutine mode only)
	tl     *tlsLayer  // tls and wss only; set (under wmu) after the handshake
	ws     *wsLayer   // ws and wss only; set (under wmu) after the upgrade

	// Read side: only the goroutine running the connection's current step (its
	// reader, or the worker it handed it to) touches these; the done channel
	// orders the handoffs.
	fr        framer
	opened    bool // Handler.Open was called
	gotPacket bool // a complete packet arrived (the connect timeout is over)
	pauseMax  time.Duration
	pauseTill <-chan struct{}
	paused    bool
	polled    bool  // served by the epoll path (poller.go), set at accept
	batchErr  error // a Handler.Packet error of the current batch

	// Epoll path (poller.go): pstate is the poll state; pgen and pfd (the
	// registration's generation and fd number) are written by the owner before
	// the first arm; dl is the read deadline in the Server's wheel.
	pstate atomic.Int32
	pgen   uint32
	pfd    int32
	dl     deadline

	// rt is the read timeout set by SetReadTimeout: 0 unset (connect timeout in
	// force), -1 none, else nanoseconds.
	rt atomic.Int64

	// Write side, guarded by wmu.
	wmu        sync.Mutex
	wflags     uint8
	out        pending
	cause      error         // the first close cause
	drain      chan struct{} // DrainSignal's channel, made lazily
	wake       chan struct{} // wakes a paused reader on Close, made lazily
	writerDone chan struct{} // closed when the running writer exits
}

// Remote returns the client's address (unmapped IPv4).
func (c *Conn) Remote() netip.AddrPort { return c.remote }

// Listener returns the name of the listener that accepted the connection.
func (c *Conn) Listener() string { return c.l.id }

// TLS returns the TLS connection state (a copy), or nil on tcp and ws listeners.
// Call it from the Handler's methods.
func (c *Conn) TLS() *tls.ConnectionState {
	if c.tl == nil {
		return nil
	}
	cs := c.tl.conn.ConnectionState()
	return &cs
}

// SetData stores the handler's per-connection state. Not synchronised: call it
// from the Handler's methods (which are serialised per connection).
func (c *Conn) SetData(v any) { c.data = v }

// Data returns what SetData stored.
func (c *Conn) Data() any { return c.data }

// SetReadTimeout sets the keepalive: the connection is closed with ErrKeepalive
// when no byte arrives for d (MQTT: 1.5 times the keepalive). 0 means no
// timeout. It replaces the connect timeout and takes effect at once; each read
// batch re-arms it. Safe from any goroutine.
func (c *Conn) SetReadTimeout(d time.Duration) {
	c.wmu.Lock() // ordered with Close's wake of the reader (shutSocketLocked)
	defer c.wmu.Unlock()
	if c.wflags&wClosing != 0 {
		return
	}
	if d <= 0 {
		c.rt.Store(-1)
		c.setReadDeadline(time.Time{})
		return
	}
	c.rt.Store(int64(d))
	c.setReadDeadline(time.Now().Add(d))
}

// Pause stops reading c: no further packet of c is handed to the Handler after
// the current Packet call returns (bytes already read are kept, exactly sized,
// and handed on first when reading resumes), the batch ends, and c's reader does
// not wait for readability (the socket is not read, so TCP pushes back on the
// client) until until is closed or max passed (max <= 0: no limit), or c is
// closed. No worker is held meanwhile. Call it only from a Handler call for c,
// with that call's Batch; a later Pause in the same call replaces an earlier one.
func (c *Conn) Pause(b *Batch, until <-chan struct{}, max time.Duration) {
	_ = b
	c.paused = true
	c.pauseTill = until
	c.pauseMax = max
}

// Close flushes pending output (a blocked write is bounded by WriteTimeout),
// on tls and wss followed by a TLS close_notify, half-closes the socket and
// lets the reader linger (linger.go: unread input is discarded for up to
// Config.CloseLinger so that the output is not destroyed by a reset) before
// the socket is closed; cause is what Handler.Closed receives (the first cause
// wins; nil means ErrClosed). Idempotent, non-blocking, safe from any goroutine.
func (c *Conn) Close(cause error) {
	if cause == nil {
		cause = ErrClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wflags&wClosing != 0 {
		return
	}
	c.wflags |= wClosing
	c.cause = cause
	if c.wake != nil {
		close(c.wake)
	}
	c.kickLocked()
	c.signalDrainLocked()
	c.closeNotifyLocked()
	if c.wflags&wBusy != 0 {
		return // the writer closes the socket when pending is empty
	}
	c.flushLocked()
	if c.wflags&wBusy == 0 {
		c.shutSocketLocked()
	}
}

// abort closes the socket now, dropping pending output (the writer, if any,
// fails and exits) and ending a linger. cause is recorded if it is the first.
func (c *Conn) abort(cause error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wflags&wClosing == 0 {
		c.wflags |= wClosing
		c.cause = cause
		if c.wake != nil {
			close(c.wake)
		}
		c.kickLocked()
		c.signalDrainLocked()
	}
	c.closeSocketLocked()
}

// closeSocketLocked closes the socket once and frees pending output; on a
// half-closed socket it closes the descriptor, ending the linger.
func (c *Conn) closeSocketLocked() {
	if c.wflags&wSockClosed != 0 {
		if c.wflags&wLinger != 0 {
			c.wflags &^= wLinger
			_ = c.tc.Close()
			c.s.lingerDone()
		}
		return
	}
	c.wflags |= wSockClosed
	_ = c.tc.Close()
	if c.wflags&wBusy == 0 {
		c.resetLocked()
	}
}

// resetLocked frees all pending output.
func (c *Conn) resetLocked() {
	c.out.reset(&c.s.chunks)
	if c.tl != nil {
		c.tl.plain.reset(&c.s.chunks)
	}
	if c.ws != nil {
		c.ws.plain.reset(&c.s.chunks)
	}
}

// pendingLocked is the unwritten output: plaintext not yet encrypted included.
func (c *Conn) pendingLocked() int {
	n := c.out.n
	if c.tl != nil {
		n += c.tl.plain.n
	}
	if c.ws != nil {
		n += c.ws.plain.n
	}
	return n
}

// queueLocked returns the pending queue that Queue appends to: the top layer's.
func (c *Conn) queueLocked() *pending {
	switch {
	case c.ws != nil:
		return &c.ws.plain
	case c.tl != nil:
		return &c.tl.plain
	}
	return &c.out
}

// closeCause returns the recorded close cause, or def if none.
func (c *Conn) closeCause(def error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.cause != nil {
		return c.cause
	}
	return def
}

// closing reports whether Close was called.
func (c *Conn) closing() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.wflags&wClosing != 0
}

// wakeChan returns the channel Close closes, making it; nil if c is closing.
func (c *Conn) wakeChan() <-chan struct{} {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wflags&wClosing != 0 {
		return nil
	}
	if c.wake == nil {
		c.wake = make(chan struct{})
	}
	return c.wake
}

// dropWake frees the wake channel after a pause (unless Close closed it).
func (c *Conn) dropWake() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wflags&wClosing == 0 {
		c.wake = nil
	}
}
