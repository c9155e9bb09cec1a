package transport

import (
	"sync"
	"sync/atomic"
	"time"
)

// wheelTick is the timer wheel's resolution: a read deadline fires up to one
// tick (plus scheduling) after it passed, never before.
const wheelTick = 20 * time.Millisecond

// deadline is a polled connection's read deadline in the wheel.
type deadline struct {
	at   atomic.Int64 // nanoseconds since wheel.base; 0: none
	slot atomic.Int64 // the slot c is queued in (written under wheel.mu); 0: none
}

// wheel keeps the read deadlines (connect timeout, keepalive) of polled
// connections: one goroutine, no timer per connection. It is lazy: setting a
// deadline stores it, and queues the connection only when it is not queued or
// queued too late (an earlier deadline); moving a deadline later, what every
// read batch does, is one atomic store. When a slot comes due each of its
// connections is checked: no deadline -> dropped; a later one -> queued again;
// passed -> if armed, it is taken (pDone) and finished with the deadline's
// cause; if a goroutine owns it (a step, a handshake, a pause) it is dropped
// and the owner checks the deadline when it arms (Conn.arm).
//
// Races between set and a slot being processed: both sides store before they
// load (set: at, then slot; the wheel: slot = 0, then at), so a deadline set
// while its old slot is processed is either seen by the wheel or finds slot 0
// and queues itself.
//
// A closed connection stays referenced by the slot it was queued in until
// that slot comes due (its deadline: the keepalive at most).
type wheel struct {
	base  time.Time
	tick  time.Duration
	mu    sync.Mutex
	last  int64 // the last slot processed
	slots map[int64][]*Conn
	stop  chan struct{}
	done  chan struct{}
}

func newWheel() *wheel {
	return &wheel{
		base:  time.Now(),
		tick:  wheelTick,
		slots: make(map[int64][]*Conn),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
}

// slotOf is the first slot whose time is at or after at.
func (w *wheel) slotOf(at int64) int64 {
	t := int64(w.tick)
	return (at + t - 1) / t
}

// set sets c's deadline; the zero time clears it. Safe from any goroutine.
func (w *wheel) set(c *Conn, t time.Time) {
	if t.IsZero() {
		c.dl.at.Store(0)
		return
	}
	at := max(int64(t.Sub(w.base)), 1)
	c.dl.at.Store(at)
	slot := w.slotOf(at)
	if q := c.dl.slot.Load(); q != 0 && q <= slot {
		return // queued earlier: that slot re-checks
	}
	w.mu.Lock()
	slot = max(slot, w.last+1)
	if q := c.dl.slot.Load(); q == 0 || slot < q {
		c.dl.slot.Store(slot)
		w.slots[slot] = append(w.slots[slot], c)
	}
	w.mu.Unlock()
}

// expired reports whether c's deadline passed.
func (w *wheel) expired(c *Conn) bool {
	at := c.dl.at.Load()
	return at != 0 && at <= int64(time.Since(w.base))
}

// run is the wheel's goroutine, owned by the Server: Start starts it, close
// stops it (after every connection finished) and waits for it.
func (w *wheel) run() {
	defer close(w.done)
	t := time.NewTicker(w.tick)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.advance()
		}
	}
}

// advance processes every slot that came due.
func (w *wheel) advance() {
	now := int64(time.Since(w.base))
	cur := now / int64(w.tick)
	w.mu.Lock()
	defer w.mu.Unlock()
	for k := w.last + 1; k <= cur; k++ {
		cs, ok := w.slots[k]
		if !ok {
			continue
		}
		delete(w.slots, k)
		for _, c := range cs {
			if c.dl.slot.Load() != k {
				continue // queued again elsewhere: a stale entry
			}
			c.dl.slot.Store(0)
			at := c.dl.at.Load()
			switch {
			case at == 0:
			case at > now:
				ns := max(w.slotOf(at), cur+1)
				c.dl.slot.Store(ns)
				w.slots[ns] = append(w.slots[ns], c)
			case c.pstate.CompareAndSwap(pArmed, pDone):
				go c.expire()
			}
		}
	}
	w.last = cur
}

// close stops the goroutine (if it was started) and waits for it.
func (w *wheel) close(started bool) {
	close(w.stop)
	if started {
		<-w.done
	}
}
