package transport

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// readBufSize is the pooled read buffer of a batch.
const readBufSize = 4096

// worker runs read batches until Server.Close closes the work channel (after every
// reader returned). One Batch per worker, reused.
func (s *Server) worker() {
	defer s.workers.Done()
	b := &Batch{}
	for c := range s.work {
		c.done <- s.step(b, c)
	}
}

// step runs Open (first time) and one read batch for c, recovering a handler
// panic into a close cause.
func (s *Server) step(b *Batch, c *Conn) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error().Str(fieldListener, c.l.id).Stringer(fieldRemote, c.remote).
				Str(fieldPanic, fmt.Sprint(r)).Str(fieldStack, string(debug.Stack())).Msg("handler panicked")
			b.end()
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	if c.closing() {
		return c.closeCause(ErrClosed)
	}
	if !c.opened {
		c.opened = true
		if err := s.h.Open(c); err != nil {
			return err
		}
	}
	return s.readBatch(b, c)
}

// readBatch reads what the socket has (without blocking) into a pooled buffer,
// frames it and hands every packet to the handler; then it flushes every
// connection the batch touched and re-arms c's read deadline.
func (s *Server) readBatch(b *Batch, c *Conn) error {
	bp := s.readBufs.Get().(*[]byte)
	buf := *bp
	had := c.gotPacket
	b.s, b.c = s, c
	stop := c.fr.resume(s.maxPacket, b)
	for stop == nil && !c.paused {
		n, err := readNB(c.rc, buf)
		if n > 0 {
			stop = c.fr.feed(buf[:n], s.maxPacket, b)
		}
		if err == errWouldBlock {
			break
		}
		if err != nil {
			if stop == nil {
				stop = c.readErr(err)
			}
			break
		}
		if n < len(buf) {
			break // drained
		}
	}
	s.readBufs.Put(bp)
	b.end()
	b.c = nil
	if stop != nil {
		c.Close(stop)
		return stop
	}
	switch rt := c.rt.Load(); {
	case rt > 0:
		_ = c.tc.SetReadDeadline(time.Now().Add(time.Duration(rt)))
	case rt == 0 && c.gotPacket && !had:
		_ = c.tc.SetReadDeadline(time.Time{}) // the connect timeout is over
	}
	return nil
}

// packet and malformed make a Batch the framer's sink for b.c.
func (b *Batch) packet(fh packets.FixedHeader, body []byte) error {
	b.c.gotPacket = true
	return b.s.h.Packet(b, b.c, fh, body)
}

func (b *Batch) malformed(err error) { b.s.h.Malformed(b, b.c, err) }

// hold stops framing b.c once the handler paused it.
func (b *Batch) hold() bool { return b.c.paused }
