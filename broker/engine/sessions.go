package engine

import "github.com/imqtt/imqtt/internal/logfield"

// The session table: which session a client identifier names, takeover,
// clean start and the end of a session. Lock order: e.mu -> s.mu -> index.

// attach binds cl to the session of its client id. It ends the session it
// replaces (clean start, an expired one, another user's) and takes over a
// connected one: the old connection gets DISCONNECT 0x8E [MQTT-3.1.4-3]. It
// returns the session, whether it was present [MQTT-3.2.2-2] [MQTT-3.2.2-3],
// and the wills to publish now (outside every lock); or, when a bound refuses
// the CONNECT (bounds.go admitLocked), nothing but the refusal, with nothing
// changed.
//
// With a store, delOld reports that the session it replaced was durable and
// ended (the caller deletes its record before the CONNACK); a new session
// with expiry > 0 is durable.
func (e *Engine) attach(cl *client, clean bool, expiry uint32) (s *session, present bool, wills []*will, delOld bool, no *refusal) {
	t := now().UnixMilli()
	e.mu.Lock()
	defer e.mu.Unlock()
	if cl.lost || e.closed() { // Closed or Close already looked (authstep.go)
		return nil, false, nil, false, &refusal{code: 0x8B, why: "connection closed or server shutting down before attach"}
	}
	old := e.sessions[cl.info.ID]
	if no = e.admitLocked(cl, old, expiry); no != nil {
		return nil, false, nil, false, no
	}
	if old != nil {
		old.mu.Lock()
		prev := old.cl
		if prev != nil {
			// Takeover: the old connection's will is published unless a
			// delay lets this connection cancel it [MQTT-3.1.3-9].
			old.cl = nil
			old.releaseQueue(true)
			old.online.Store(false)
			e.st.online(-1)
			if prev.will != nil && (prev.will.delay == 0 || clean) {
				wills = append(wills, prev.will)
			}
			prev.will = nil
			if prev.ready { // never a DISCONNECT before the CONNACK [MQTT-3.2.0-1]
				prev.sendDisconnect(nil, ErrTakenOver)
			}
			prev.conn.Close(ErrTakenOver)
		}
		// The old session ends: clean start, another user's id, expired,
		// or expiry 0 with its connection just taken over.
		gone := clean || old.user != cl.info.Username ||
			(prev == nil && old.expiredAt(t)) || (prev != nil && old.expiry == 0)
		if old.will != nil && (gone || old.will.delay == 0) {
			wills = append(wills, old.will)
		}
		old.will, old.willAt = nil, 0 // a reconnect cancels a delayed will
		old.mu.Unlock()
		if gone {
			delOld = old.durable
			e.endLocked(old, false)
			old = nil
		}
	}
	if old == nil {
		s = &session{e: e, id: cl.info.ID, user: cl.info.Username}
		if e.store != nil && expiry > 0 {
			s.durable = true
			s.d = &dstate{}
		}
		e.sessions[s.id] = s
	} else {
		s, present = old, true
	}
	delete(e.offline, s)
	s.mu.Lock()
	s.cl, s.info, s.expiry, s.offlineAt, s.remote = cl, &cl.info, expiry, 0, false
	s.ackAt = now().UnixMilli()
	s.online.Store(true)
	e.st.online(1)
	cl.s = s
	s.mu.Unlock()
	e.countLocked(s)
	return s, present, wills, delOld, nil
}

// expiredAt reports whether an offline session's expiry has passed at unix
// millisecond t (s.mu
// held).
func (s *session) expiredAt(t int64) bool {
	return s.cl == nil && s.offlineAt != 0 && t >= s.offlineAt+int64(s.expiry)*1000
}

// endLocked removes s from the table and the index (e.mu held): a clean or
// expired session leaves nothing behind. A durable one's record is deleted
// (queued) when del is set.
func (e *Engine) endLocked(s *session, del bool) {
	if e.sessions[s.id] == s {
		delete(e.sessions, s.id)
	}
	delete(e.offline, s)
	e.uncountLocked(s)
	s.mu.Lock()
	s.ended = true
	for f := range s.subs {
		e.topics.unsubscribe(s, f)
	}
	s.subs, s.inflight, s.queue, s.queued, s.inQoS2 = nil, nil, nil, 0, nil
	if s.d != nil {
		s.d.win, s.d.rel = nil, nil
	}
	s.mu.Unlock()
	if del && s.durable {
		e.deleteRecord(s.id) // after ended: no copy is routed to s from now
	}
}

// connectionLost counts the closed connection and detaches it.
func (e *Engine) connectionLost(cl *client, cause error) {
	if cl.counted.Load() {
		e.obs.ClientDisconnected(&cl.info, reasonWord(cause))
	}
	cl.logEvent(cl.e.log.Debug()).Str(logfield.Reason, reasonWord(cause)).AnErr(logfield.Cause, cause).Msg("client disconnected")
	e.unscheduleExpiry(cl) // expiry.go
	e.detach(cl, cause)
}

// detach ends cl's part of its session: the will (now, or delayed while the
// session lives), and the session itself if its expiry is 0. It runs at the
// client's DISCONNECT (so the next CONNECT sees the result at once) and again
// from Closed, where it does nothing the second time.
func (e *Engine) detach(cl *client, cause error) {
	s := cl.s
	if s == nil {
		return
	}
	var pub *will
	e.mu.Lock()
	s.mu.Lock()
	if s.cl != cl { // taken over or already detached
		s.mu.Unlock()
		e.mu.Unlock()
		return
	}
	// Deadlines are in milliseconds from the close; the sweep's buckets
	// round them up to the second, so a Will Delay or Session Expiry of N
	// seconds never ends early (the Paho suite's test_will_delay measures
	// both), and a CONNECT checks the expiry to the millisecond.
	t := now().UnixMilli()
	s.cl, s.offlineAt = nil, t
	s.releaseQueue(true)
	s.online.Store(false)
	e.st.online(-1)
	w := cl.will
	cl.will = nil
	end := s.expiry == 0
	if w != nil {
		// [MQTT-3.1.2-8] abnormal close publishes the will, after its delay
		// or at the session's end, whichever is first [MQTT-3.1.3-9].
		switch {
		case w.delay == 0 || end:
			pub = w
		case w.delay >= s.expiry:
			s.will, s.willAt = w, t+int64(s.expiry)*1000
		default:
			s.will, s.willAt = w, t+int64(w.delay)*1000
		}
	}
	if pub != nil && e.closed() && s.durable && !end {
		// The engine is closing: the will is kept in the record and
		// published after the restart (load).
		s.will, s.willAt, pub = pub, t, nil
	}
	expireAt, willAt := t+int64(s.expiry)*1000, s.willAt
	if s.durable && !end {
		e.putRecord(s.record(t, s.will))
	}
	s.mu.Unlock()
	if end {
		e.endLocked(s, true)
	} else {
		e.offline[s] = struct{}{}
		e.scheduleLocked(s, expireAt)
		if willAt != 0 {
			e.scheduleLocked(s, willAt)
		}
	}
	e.mu.Unlock()
	e.publishWill(pub)
}
