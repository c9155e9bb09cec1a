package transport

import (
	"errors"
	"net"
	"os"
	"time"
)

// Queue appends a copy of p to c's pending output. With b != nil (a Handler call
// on a worker) the write happens when b ends, once per touched connection; with
// b == nil (timers, other goroutines) it is written now, without blocking, and
// what the socket does not take goes to the connection's writer goroutine. Safe
// from any goroutine. See QueueResult for the outcomes; Refused and Closed queue
// nothing.
func (c *Conn) Queue(b *Batch, p []byte) QueueResult {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wflags&wClosing != 0 {
		return Closed
	}
	bound := c.s.cfg.MaxPendingBytes
	if c.pendingLocked() >= bound {
		return Refused
	}
	c.queueLocked().add(p, &c.s.chunks)
	res := Queued
	if c.pendingLocked() >= bound {
		res = QueuedFull
	}
	if c.wflags&wBusy != 0 {
		return res // the writer takes it
	}
	if b != nil {
		if c.wflags&wTouched == 0 {
			c.wflags |= wTouched
			b.touch(c)
		}
		return res
	}
	c.flushLocked()
	return res
}

// PendingBytes returns the bytes queued and not yet written.
func (c *Conn) PendingBytes() int {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.pendingLocked()
}

// DrainSignal returns a channel that is closed when c's pending output drops below
// half of MaxPendingBytes (already closed if it is below now), or c closes.
func (c *Conn) DrainSignal() <-chan struct{} {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wflags&wClosing != 0 || c.pendingLocked() < c.s.cfg.MaxPendingBytes/2 {
		return c.s.closedCh
	}
	if c.drain == nil {
		c.drain = make(chan struct{})
	}
	return c.drain
}

// signalDrainLocked closes the drain channel if pending is low enough or c closes.
func (c *Conn) signalDrainLocked() {
	if c.drain != nil && (c.wflags&wClosing != 0 || c.pendingLocked() < c.s.cfg.MaxPendingBytes/2) {
		close(c.drain)
		c.drain = nil
	}
}

// endBatch flushes c at the end of a batch that touched it.
func (c *Conn) endBatch() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wflags &^= wTouched
	if c.wflags&(wBusy|wSockClosed) == 0 {
		c.flushLocked()
	}
}

// flushLocked writes pending output without blocking (one writev). What the
// socket does not take is handed to a new writer goroutine. A write error closes
// the socket with that cause.
func (c *Conn) flushLocked() {
	if c.wflags&(wBusy|wSockClosed) != 0 {
		return
	}
	if err := c.encodeLocked(); err != nil {
		c.failLocked(err)
		return
	}
	if c.out.n == 0 {
		if c.wflags&wClosing != 0 {
			c.shutSocketLocked()
		}
		return
	}
	var vs [16][]byte
	for c.out.n > 0 {
		n, err := writevNB(c.rc, c.out.views(vs[:0]))
		c.out.consume(n, &c.s.chunks)
		if err != nil {
			c.failLocked(err)
			return
		}
		if n == 0 {
			break // the socket buffer is full
		}
	}
	clear(vs[:])
	c.signalDrainLocked()
	if c.out.n > 0 {
		c.startWriterLocked()
	} else if c.wflags&wClosing != 0 {
		c.shutSocketLocked()
	}
}

// failLocked closes the socket after a write error.
func (c *Conn) failLocked(err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = ErrWriteTimeout
	}
	if c.wflags&wClosing == 0 {
		c.wflags |= wClosing
		c.cause = err
		if c.wake != nil {
			close(c.wake)
		}
		c.kickLocked()
	}
	c.closeSocketLocked()
	c.resetLocked()
	c.signalDrainLocked()
}

// startWriterLocked marks c busy and starts its writer.
func (c *Conn) startWriterLocked() {
	c.wflags |= wBusy
	done := make(chan struct{})
	c.writerDone = done
	c.s.writers.Add(1)
	go c.writer(done)
}

// writerChunk bounds one blocking write, so that WriteTimeout measures a stall,
// not the time to write a large backlog.
const writerChunk = 64 << 10

// writer is a busy connection's write goroutine: it writes pending output with
// blocking writes, each under WriteTimeout, until pending is empty (then it exits,
// closing the socket if c is closing) or a write fails (then it closes the socket
// with the cause, ErrWriteTimeout for a stall). Owned by c; Server.Close waits for
// it; the reader's exit waits for it before Handler.Closed.
func (c *Conn) writer(done chan struct{}) {
	defer c.s.writers.Done()
	defer close(done)
	var vs [][]byte
	for {
		c.wmu.Lock()
		if err := c.encodeLocked(); err != nil {
			c.wflags &^= wBusy
			c.writerDone = nil
			c.failLocked(err)
			c.wmu.Unlock()
			return
		}
		if c.out.n == 0 || c.wflags&wSockClosed != 0 {
			c.wflags &^= wBusy
			c.writerDone = nil
			if c.wflags&wClosing != 0 {
				c.shutSocketLocked()
			}
			c.resetLocked() // empty, or the socket is closed
			c.signalDrainLocked()
			c.wmu.Unlock()
			return
		}
		vs = c.out.views(vs[:0])
		size := 0
		for i, v := range vs {
			size += len(v)
			if size >= writerChunk {
				vs = vs[:i+1]
				break
			}
		}
		c.wmu.Unlock()

		_ = c.tc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
		bufs := net.Buffers(vs)
		n, err := bufs.WriteTo(c.tc)
		clear(vs)

		c.wmu.Lock()
		if c.wflags&wSockClosed == 0 {
			c.out.consume(int(n), &c.s.chunks)
		}
		if err != nil {
			c.wflags &^= wBusy
			c.writerDone = nil
			c.failLocked(err)
			c.wmu.Unlock()
			return
		}
		c.signalDrainLocked()
		c.wmu.Unlock()
	}
}
