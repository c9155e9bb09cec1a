package listen

// Corking: a client's request is answered with two packets written by two
// goroutines of mochi — the reply a hook publishes (an IM ack, written by the
// client's write loop) and the protocol ack (PUBACK, written by the read
// loop) — which would be two write(2) calls and two TCP segments. The IM hook
// corks the connection right before it publishes the reply and uncorks it
// once mochi has processed the packet, so both leave in one write. Only the
// reader goroutine corks and uncorks, around work it does synchronously: the
// hold is never longer than the rest of one packet's processing, nor larger
// than maxHeld. Corking is offered on TCP and TLS connections; a WebSocket
// connection ignores it (a frame per packet).

// Cork holds the connection's writes in memory until Uncork. Called by the
// goroutine that reads the connection (mochi's read loop, through a hook).
func (c *conn) Cork() {
	if c.ws != nil || c.closed.Load() {
		return
	}
	c.wmu.Lock()
	if !c.writeShut {
		c.corked = true
		c.corkOn.Store(true)
	}
	c.wmu.Unlock()
}

// Uncork writes what was held since Cork, in one write, and lets later writes
// through. A failed write is returned by the next Write (mochi then ends the
// session). Cheap when not corked.
func (c *conn) Uncork() {
	if !c.corkOn.Load() {
		return
	}
	c.wmu.Lock()
	c.corked = false
	c.corkOn.Store(false)
	c.flushHeldLocked()
	c.wmu.Unlock()
}

// Corked reports whether writes are being held.
func (c *conn) Corked() bool { return c.corkOn.Load() }

// maxHeld bounds what a corked connection holds: a write that would go past
// it writes out what is held and itself (the client's write loop draining a
// backlog while corked). maxHeldCap bounds the buffer kept between corks.
const (
	maxHeld    = 64 << 10
	maxHeldCap = 16 << 10
)

// flushHeldLocked writes the held bytes (under wmu).
func (c *conn) flushHeldLocked() {
	if len(c.held) == 0 {
		return
	}
	if !c.writeShut && c.werr == nil {
		if _, err := c.inner.Write(c.held); err != nil {
			c.werr = err
		}
	}
	c.held = c.held[:0]
	if cap(c.held) > maxHeldCap {
		c.held = nil
	}
}
