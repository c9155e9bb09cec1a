package engine

import "github.com/mochi-mqtt/server/v2/packets"

// Credentials that expire: a client whose Authenticator returned an
// ExpiresAt (a JWT's exp, a minted token's) is closed when it passes, by the
// sweeper (sweep.go), from a wheel of per-second buckets like the session
// one: no timer and no goroutine per connection. An MQTT 5 client gets
// DISCONNECT 0xA0 (Maximum connect time), a 3.1.1 client is closed.

// scheduleExpiry enters cl, just connected, in the wheel; a client whose
// credentials expired meanwhile is closed at once.
func (e *Engine) scheduleExpiry(cl *client) {
	if cl.info.ExpiresAt == 0 {
		return
	}
	sec := expirySecond(cl)
	e.mu.Lock()
	if sec <= e.expSwept {
		e.mu.Unlock()
		e.expire(cl)
		return
	}
	if e.expiring == nil {
		e.expiring = make(map[int64]map[*client]struct{})
	}
	b := e.expiring[sec]
	if b == nil {
		b = make(map[*client]struct{})
		e.expiring[sec] = b
	}
	b[cl] = struct{}{}
	e.mu.Unlock()
}

// unscheduleExpiry takes cl, whose connection ended, out of the wheel.
func (e *Engine) unscheduleExpiry(cl *client) {
	if cl.info.ExpiresAt == 0 {
		return
	}
	sec := expirySecond(cl)
	e.mu.Lock()
	if b := e.expiring[sec]; b != nil {
		delete(b, cl)
		if len(b) == 0 {
			delete(e.expiring, sec)
		}
	}
	e.mu.Unlock()
}

// expirySecond is the wheel's bucket of cl: its expiry rounded up to the
// second, so never early.
func expirySecond(cl *client) int64 { return (cl.info.ExpiresAt + 999) / 1000 }

// sweepExpiry closes the clients whose credentials expired by unix
// millisecond tms (the sweeper calls it on every tick).
func (e *Engine) sweepExpiry(tms int64) {
	t := tms / 1000
	var due []*client
	e.mu.Lock()
	if len(e.expiring) > 0 {
		if e.expSwept == 0 || t-e.expSwept > 3600 { // first pass, or the clock jumped
			for sec, b := range e.expiring {
				if sec <= t {
					due = appendClients(due, b)
					delete(e.expiring, sec)
				}
			}
		} else {
			for sec := e.expSwept + 1; sec <= t; sec++ {
				if b := e.expiring[sec]; b != nil {
					due = appendClients(due, b)
					delete(e.expiring, sec)
				}
			}
		}
	}
	if t > e.expSwept {
		e.expSwept = t
	}
	e.mu.Unlock()
	for _, cl := range due {
		e.expire(cl)
	}
}

func appendClients(out []*client, b map[*client]struct{}) []*client {
	for cl := range b {
		out = append(out, cl)
	}
	return out
}

// expire ends cl's connection because its credentials expired
// [MQTT-3.14.2-1]: DISCONNECT 0xA0 for MQTT 5 after every packet already
// queued, then close. The session stays, as after any connection loss.
func (e *Engine) expire(cl *client) {
	if e.closeClient(cl, packets.ErrMaxConnectTime) {
		cl.logEvent(e.log.Info()).Msg("credentials expired: connection closed")
	}
}

// closeClient sends a v5 client DISCONNECT with code (after the CONNACK
// only [MQTT-3.2.0-1]) and closes its connection, as Kick does; false when
// cl is no longer its session's connection.
func (e *Engine) closeClient(cl *client, code packets.Code) bool {
	s := cl.s
	if s == nil {
		return false
	}
	s.mu.Lock()
	if s.cl != cl || s.ended {
		s.mu.Unlock()
		return false
	}
	if cl.ready {
		cl.sendDisconnect(nil, code)
	}
	s.mu.Unlock()
	cl.conn.Close(code)
	return true
}
