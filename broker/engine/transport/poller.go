package transport

import (
	"os"
	"time"
)

// The epoll path (Config.Poller "epoll", the default on Linux). No goroutine
// waits for an idle connection: its socket is registered with one of a few
// epoll instances (poller_linux.go) with EPOLLIN|EPOLLRDHUP|EPOLLONESHOT, and
// its read deadline lives in the Server's timer wheel (deadline.go). A
// connection is always in one poll state (Conn.pstate):
//
//	pRunning  owned by one goroutine: the start hand-off, the handshake
//	          worker, a worker's step, or a pause wait. The zero value.
//	pArmed    owned by nobody: registered and armed in epoll. Whoever moves
//	          it out by compare-and-swap owns it: the poller (readiness ->
//	          pRunning, then s.work <- c), the wheel (deadline -> pDone) or a
//	          close (Conn.Close, abort, a write error: kickLocked -> pDone).
//	pDone     finishing: finishPolled runs once, on its own goroutine.
//
// After a worker's step (afterStep): an error -> finish; paused -> a
// short-lived goroutine waits for the pause (pausePolled) and hands the
// connection to a worker again without waiting for readiness (bytes may wait
// in memory: held, or a record inside the tls.Conn); closing -> finish; else
// arm: store pArmed, re-check closing and the deadline (either may have
// happened during the step while nobody could act on it), then EPOLL_CTL_MOD
// (ADD the first time). The store comes before the checks and the MOD, so a
// close or a deadline after the checks finds pArmed and takes it.
//
// Why EPOLLONESHOT and not edge-triggered: one event per arming means the
// kernel never reports a connection a worker owns, and the MOD re-checks
// readiness, so bytes that arrived during the step fire at once; the price is
// one epoll_ctl per batch, which replaces the reader's two MSG_PEEK recvfroms
// per wake-up and its hand-off through the done channel. Edge-triggered mode
// would save the MOD but needs a "readiness seen while running" flag and a
// drain-to-EAGAIN on every batch (the plain-TCP batch stops at a short read).
//
// Every epoll_ctl runs inside RawConn.Control, which holds a reference on the
// descriptor: a closed socket makes it fail (never reaching a reused fd
// number), and a concurrent Close waits for it. The event data is the fd and a
// registration generation (Conn.pgen): an event for a descriptor that was
// closed and reused meanwhile finds a different generation and is dropped.
// Go's netpoller keeps the fd registered too (edge-triggered, nobody parked
// on it after the handshake): its spurious wake-ups cost nothing.

// Poll states (Conn.pstate).
const (
	pRunning int32 = iota
	pArmed
	pDone
)

// dispatch hands a new connection to its first step without blocking the
// accept loop: directly to an idle worker, else through a short-lived
// goroutine.
func (s *Server) dispatch(c *Conn) {
	ch := s.work
	if c.l.handshake() {
		ch = s.hs
	}
	select {
	case ch <- c:
	default:
		go func() { ch <- c }() // Close closes ch only after c finished
	}
}

// afterStep decides what a polled connection does after a worker's step.
// It runs on the worker and never blocks on a channel.
func (c *Conn) afterStep(err error) {
	switch {
	case err != nil:
		c.pstate.Store(pDone)
		go c.finishPolled(err)
	case c.paused:
		go c.pausePolled()
	case c.closing():
		c.pstate.Store(pDone)
		go c.finishPolled(c.closeCause(ErrClosed))
	default:
		c.arm()
	}
}

// afterHandshake runs on the handshake worker: on success the connection's
// first step (bytes may already wait in memory, read past a PROXY header or
// inside the tls.Conn), else finish.
func (c *Conn) afterHandshake(err error) {
	if err != nil {
		c.pstate.Store(pDone)
		go c.finishPolled(err)
		return
	}
	// The connect deadline goes on in the wheel; the socket's own deadline
	// served the handshake's blocking reads.
	_ = c.tc.SetReadDeadline(time.Time{})
	c.s.work <- c
}

// arm gives c back to the poller (see the state comment above).
func (c *Conn) arm() {
	first := c.pgen == 0
	if first {
		if err := c.s.poll.register(c); err != nil {
			c.pstate.Store(pDone)
			go c.finishPolled(c.readErr(err))
			return
		}
	}
	c.pstate.Store(pArmed) // after register's writes: whoever takes c sees them
	if c.closing() {
		if c.pstate.CompareAndSwap(pArmed, pDone) {
			go c.finishPolled(c.closeCause(ErrClosed))
		}
		return
	}
	if c.s.wheel.expired(c) {
		if c.pstate.CompareAndSwap(pArmed, pDone) {
			go c.expire()
		}
		return
	}
	if err := c.s.poll.arm(c, first); err != nil {
		if c.pstate.CompareAndSwap(pArmed, pDone) {
			go c.finishPolled(c.readErr(err))
		}
	}
}

// kickLocked hands an armed connection to finish once Close (or abort, or a
// write error) set wClosing: nothing else would wake it. A connection that is
// running sees wClosing itself (afterStep, arm). Caller holds wmu.
func (c *Conn) kickLocked() {
	if c.polled && c.pstate.CompareAndSwap(pArmed, pDone) {
		go c.finishPolled(ErrClosed) // finish takes the recorded cause
	}
}

// ready is the poller's event: an armed connection is handed to a worker.
// It blocks while every worker is busy, as the reader goroutine did.
func (c *Conn) ready() {
	if c.pstate.CompareAndSwap(pArmed, pRunning) {
		c.s.work <- c
	}
}

// expire finishes a connection whose read deadline passed (the wheel or arm
// won it): ErrConnectTimeout or ErrKeepalive, as the reader's readErr maps a
// deadline.
func (c *Conn) expire() {
	c.finishPolled(c.readErr(os.ErrDeadlineExceeded))
}

// pausePolled waits for the pause without a worker, then runs a step.
func (c *Conn) pausePolled() {
	c.pause()
	c.s.work <- c // Close closes work only after c finished
}

// finishPolled is finish for a polled connection, on its own goroutine (the
// linger and a busy writer may take up to CloseLinger and WriteTimeout): it
// runs exactly once, by the owner that moved c to pDone.
func (c *Conn) finishPolled(cause error) {
	defer c.s.readers.Done()
	c.s.wheel.set(c, time.Time{})
	c.s.poll.del(c)
	c.finish(cause)
}

// setReadDeadline sets the read deadline where c's mode keeps it: the wheel
// (epoll) or the socket (goroutine reader).
func (c *Conn) setReadDeadline(t time.Time) {
	if c.polled {
		c.s.wheel.set(c, t)
		return
	}
	_ = c.tc.SetReadDeadline(t)
}
