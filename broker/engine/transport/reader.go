package transport

import (
	"errors"
	"net"
	"os"
	"time"
)

// serve is the connection's reader goroutine (Config.Poller "goroutine"; the
// epoll path is poller.go): it parks in the readiness wait
// (no buffer held) and hands the connection to a worker each time it is
// readable, waiting on c.done; then it finishes the connection. Started by the
// accept loop, tracked by Server.readers.
func (c *Conn) serve() {
	defer c.s.readers.Done()
	c.finish(c.run())
}

// run returns the close cause.
func (c *Conn) run() error {
	s := c.s
	if c.l.handshake() {
		s.hs <- c
		if err := <-c.done; err != nil {
			return err
		}
	}
	for {
		s.work <- c
		if err := <-c.done; err != nil {
			return err
		}
		if c.paused {
			c.pause()
			// Bytes may wait in memory (held, or a record inside the tls.Conn),
			// not in the socket: run a batch before waiting again.
			continue
		}
		if c.closing() {
			// The step may have re-armed the read deadline after a close woke
			// the reader (shutSocketLocked): do not wait on it.
			return c.closeCause(ErrClosed)
		}
		if err := waitReadable(c.rc); err != nil {
			return c.readErr(err)
		}
	}
}

// pause waits, without a worker, until the pause ends or c closes, then re-arms
// the read deadline (the client's bytes waited in the socket meanwhile).
func (c *Conn) pause() {
	till, max := c.pauseTill, c.pauseMax
	c.paused, c.pauseTill, c.pauseMax = false, nil, 0
	wake := c.wakeChan()
	if wake == nil {
		return // closing
	}
	var timeout <-chan time.Time
	if max > 0 {
		t := time.NewTimer(max)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-till:
	case <-timeout:
	case <-wake:
	}
	c.dropWake()
	if rt := c.rt.Load(); rt > 0 {
		c.setReadDeadline(time.Now().Add(time.Duration(rt)))
	}
}

// readErr maps a read or wait error to a close cause.
func (c *Conn) readErr(err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		if c.gotPacket || c.rt.Load() != 0 {
			return c.closeCause(ErrKeepalive)
		}
		return c.closeCause(ErrConnectTimeout)
	case errors.Is(err, net.ErrClosed):
		return c.closeCause(ErrClosed)
	}
	return c.closeCause(err)
}

// finish closes c (flushing what is pending, bounded by WriteTimeout), waits for
// its writer, calls Handler.Closed once if Open was called, lingers if the
// socket was half-closed (linger.go), closes the socket and releases its Guard
// slot. It runs on the reader (epoll: finishPolled), after every worker
// step of c returned.
func (c *Conn) finish(cause error) {
	c.Close(cause)
	c.wmu.Lock()
	wd := c.writerDone
	c.wmu.Unlock()
	if wd != nil {
		<-wd
	}
	c.wmu.Lock()
	if c.wflags&wLinger == 0 {
		c.closeSocketLocked() // not half-closed: closed now (if not already)
	}
	lingering := c.wflags&wLinger != 0
	c.wmu.Unlock()
	cause = c.closeCause(cause)
	c.fr.partial = nil
	if c.opened {
		c.s.h.Closed(c, cause)
	}
	if lingering {
		c.linger()
	}
	c.abort(cause)
	c.slot.Release()
	c.s.forget(c)
	c.s.log.Debug().Str(fieldListener, c.l.id).Stringer(fieldRemote, c.remote).Err(cause).Msg("connection closed")
}
