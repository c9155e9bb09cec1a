package transport

import (
	"syscall"
	"time"
)

// The close linger. When the server closes a connection whose client may
// still be sending (a DISCONNECT 0x95 for an oversized packet, a protocol
// error, a refusal, a shutdown), closing the socket with unread input makes
// the kernel answer with a reset, and a reset can destroy the output in
// flight before the client reads it. So a graceful close (Conn.Close, once
// the output is written) goes:
//
//  1. shutSocketLocked (under wmu, by whoever wrote the last byte: Close's
//     flush, a later flush or the writer): shutdown(SHUT_WR), so the client
//     reads every byte, then FIN (after close_notify on tls and wss, queued by
//     Close); the socket stays open, marked wLinger; the reader is woken
//     (read deadline now).
//  2. finish, on the reader (epoll: the finish goroutine): Handler.Closed, then linger: input is read and
//     discarded (a pooled buffer per burst, none while waiting; the wait is
//     the netpoller's) until the client's EOF, an error, or CloseLinger.
//  3. The socket is closed, the Guard slot released.
//
// At most Config.MaxLingering sockets linger at once (Server.lingering);
// beyond that a graceful close closes at once, as abort and write errors
// always do. Server.Close cuts every linger (lingerCut, then a read deadline
// of now on each): one last non-blocking discard and the socket closes, so
// Close waits for no linger.

// lingerBurst bounds the reads of one discard call: the read deadline is
// checked between bursts, so a client that keeps sending cannot hold the
// reader past CloseLinger.
const lingerBurst = 64

// lingerStart counts a lingering socket; false when MaxLingering are.
func (s *Server) lingerStart() bool {
	if s.lingering.Add(1) > int64(s.cfg.MaxLingering) {
		s.lingering.Add(-1)
		return false
	}
	return true
}

// lingerDone uncounts a lingering socket (its descriptor was closed).
func (s *Server) lingerDone() { s.lingering.Add(-1) }

// shutSocketLocked ends a graceful close once the output is written: it
// half-closes the socket for the reader's linger, or closes it if no linger
// slot is free or the half-close fails. Caller holds wmu and set wClosing.
func (c *Conn) shutSocketLocked() {
	if c.wflags&wSockClosed != 0 {
		return
	}
	if !c.s.lingerStart() {
		c.closeSocketLocked()
		return
	}
	if err := c.tc.CloseWrite(); err != nil {
		c.s.lingerDone()
		c.closeSocketLocked()
		return
	}
	c.wflags |= wSockClosed | wLinger
	if c.wflags&wBusy == 0 {
		c.resetLocked()
	}
	// Wake the reader from its readiness wait: it lingers in finish. A worker
	// step that re-arms the deadline meanwhile is followed by run's closing
	// check; SetReadTimeout does nothing once wClosing is set.
	_ = c.tc.SetReadDeadline(time.Now())
}

// linger discards input until the client's EOF, an error, CloseLinger or
// Server.Close; the caller closes the socket afterwards. It runs on the reader
// goroutine (finish), holding no buffer while it waits.
func (c *Conn) linger() {
	_ = c.tc.SetReadDeadline(time.Now().Add(c.s.cfg.CloseLinger))
	for {
		if c.discard() || c.s.lingerCut.Load() {
			return
		}
		if err := waitReadable(c.rc); err != nil {
			c.discard() // the deadline (or Server.Close's cut): what arrived last
			return
		}
	}
}

// discard reads and drops what the socket has, without blocking and without
// the poller (so an expired read deadline does not stop it): true when the
// stream ended (EOF or an error, the closed socket included).
func (c *Conn) discard() (ended bool) {
	bp := c.s.readBufs.Get().(*[]byte)
	buf := *bp
	err := c.rc.Control(func(fd uintptr) {
		for range lingerBurst {
			n, errno := syscall.Read(int(fd), buf)
			switch {
			case errno == syscall.EINTR:
				continue
			case errno == syscall.EAGAIN:
				return
			case errno != nil || n == 0:
				ended = true
				return
			}
		}
	})
	c.s.readBufs.Put(bp)
	return ended || err != nil
}

// cutLinger ends c's linger now (Server.Close): its wait wakes, discards once
// and returns.
func (c *Conn) cutLinger() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wflags&wLinger != 0 {
		_ = c.tc.SetReadDeadline(time.Now())
	}
}
