package transport

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/imqtt/imqtt/broker/listen"
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
		err := s.step(b, c)
		if c.polled {
			c.afterStep(err)
		} else {
			c.done <- err
		}
	}
}

// step runs Open (first time) and one read batch for c, recovering a handler
// panic into a close cause.
func (s *Server) step(b *Batch, c *Conn) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error().Str(fieldListener, c.l.id).Stringer(fieldRemote, c.remote).
				Str(fieldPanic, fmt.Sprint(r)).Str(fieldStack, string(debug.Stack())).Msg("handler panicked")
			s.guard.Panic(c.l.id)
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
	stop := c.fr.resume(b)
	if stop == nil && c.ws != nil && c.ws.pre != nil && !c.paused {
		pre := c.ws.pre
		c.ws.pre = nil
		stop = c.ingest(b, pre)
	}
	for stop == nil && !c.paused {
		n, err := c.read(buf)
		if n > 0 {
			stop = c.ingest(b, buf[:n])
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
		if n < len(buf) && c.tl == nil {
			break // drained (TLS may still hold a whole record: read to EAGAIN)
		}
	}
	s.readBufs.Put(bp)
	if c.tl != nil && c.tl.hasStaged() {
		// A Read answered the peer (TLS 1.3 KeyUpdate): flush with the batch.
		c.wmu.Lock()
		if c.wflags&wTouched == 0 {
			c.wflags |= wTouched
			b.touch(c)
		}
		c.wmu.Unlock()
	}
	b.end()
	b.c = nil
	if stop != nil {
		c.Close(stop)
		return stop
	}
	switch rt := c.rt.Load(); {
	case rt > 0:
		c.setReadDeadline(time.Now().Add(time.Duration(rt)))
	case rt == 0 && c.gotPacket && !had:
		c.setReadDeadline(time.Time{}) // the connect timeout is over
	}
	return nil
}

// packet and malformed make a Batch the framer's sink for b.c.
func (b *Batch) packet(fh packets.FixedHeader, body []byte) error {
	if !b.c.gotPacket && fh.Type != packets.Connect && b.s.guard != nil {
		// Counted as the listen package's guard does; the handler refuses
		// it [MQTT-3.1.0-1].
		b.s.guard.Reject(b.c.l.id, b.c.remote.String(), listen.ReasonFirstPacketType, nil)
	}
	b.c.gotPacket = true
	return b.s.h.Packet(b, b.c, fh, body)
}

// malformed counts the refusal with the listen package's reasons (the same
// imqtt_connections_rejected_total labels as the mochi path's listeners) and
// tells the handler.
func (b *Batch) malformed(err error) {
	c := b.c
	if b.s.guard != nil {
		b.s.guard.Reject(c.l.id, c.remote.String(), rejectReason(c.gotPacket, err), err)
	}
	b.s.h.Malformed(b, c, err)
}

// rejectReason names a framer refusal: before or after the first packet,
// too large or malformed.
func rejectReason(afterFirst bool, err error) string {
	large := errors.Is(err, ErrPacketTooLarge)
	switch {
	case !afterFirst && large:
		return listen.ReasonFirstPacketSize
	case !afterFirst:
		return listen.ReasonFirstPacketMalformed
	case large:
		return listen.ReasonPacketTooLarge
	}
	return listen.ReasonMalformedLength
}

// hold stops framing b.c once the handler paused it.
func (b *Batch) hold() bool { return b.c.paused }

// limit is b.c's packet size limit: Server.firstMax until its first packet,
// then Server.maxPacket.
func (b *Batch) limit() int {
	if !b.c.gotPacket {
		return b.s.firstMax
	}
	return b.s.maxPacket
}

// read reads the connection's MQTT bytes without blocking: errWouldBlock when
// none are available.
func (c *Conn) read(p []byte) (int, error) {
	if c.tl != nil {
		return c.tl.conn.Read(p)
	}
	return readNB(c.rc, p)
}

// ingest hands read bytes to the WebSocket decoder (ws, wss) or the framer.
func (c *Conn) ingest(b *Batch, p []byte) error {
	if c.ws == nil {
		return c.fr.feed(p, b)
	}
	err := c.ws.dec.decode(p, b)
	if errors.Is(err, ErrWebSocket) {
		return b.wsFail(err)
	}
	return err
}
