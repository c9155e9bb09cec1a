package engine

import "time"

// sweeper is the engine's one ticker goroutine: it ends offline sessions
// whose Session Expiry Interval passed and publishes delayed wills that are
// due, from a wheel of per-second buckets filled by detach, and closes
// connections whose credentials expired (expiry.go). It is started by New
// and stopped by Close (e.done).
func (e *Engine) sweeper() {
	defer e.wg.Done()
	tick := time.NewTicker(e.cfg.SweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-e.done:
			return
		case <-tick.C:
			t := now().UnixMilli()
			e.sweep(t)
			e.sweepExpiry(t) // expiry.go
		}
	}
}

// scheduleLocked asks the sweeper to look at s at unix millisecond atMs
// (e.mu held), in the bucket of that time rounded up to the second, so never
// early. An entry is only a hint: the sweep re-checks the session's real
// state, so stale entries (a session that reconnected) cost one look.
func (e *Engine) scheduleLocked(s *session, atMs int64) {
	at := (atMs + 999) / 1000
	if at <= e.swept {
		at = e.swept + 1
	}
	e.due[at] = append(e.due[at], s)
}

// sweep looks at the sessions due up to unix millisecond tms (their
// buckets up to its second): delayed wills that are due are published,
// expired sessions end. Its cost is the sessions due, not all offline
// sessions.
func (e *Engine) sweep(tms int64) {
	var wills []*will
	t := tms / 1000
	e.mu.Lock()
	if e.swept == 0 || t-e.swept > 3600 { // first pass, or the clock jumped
		for sec := range e.due {
			if sec <= t {
				wills = e.sweepSecond(sec, tms, wills)
			}
		}
	} else {
		for sec := e.swept + 1; sec <= t; sec++ {
			wills = e.sweepSecond(sec, tms, wills)
		}
	}
	if t > e.swept {
		e.swept = t
	}
	e.mu.Unlock()
	for _, w := range wills {
		e.publishWill(w)
	}
}

func (e *Engine) sweepSecond(sec, t int64, wills []*will) []*will { // t: unix ms
	for _, s := range e.due[sec] {
		if _, off := e.offline[s]; !off {
			continue // reconnected or ended
		}
		s.mu.Lock()
		published := false
		if s.will != nil && t >= s.willAt { // [MQTT-3.1.3-9]
			wills = append(wills, s.will)
			s.will, s.willAt = nil, 0
			published = true
		}
		expired := s.expiredAt(t)
		hold := false
		if expired && s.durable && e.shared != nil && !e.shared.Leader() {
			// The leader deletes it (every node mirrors the deletion);
			// looked at again in case this node leads by then.
			hold = true
			e.scheduleLocked(s, t+mirrorRecheck*1000)
		}
		if expired && s.will != nil { // the session ends: its will goes now
			wills = append(wills, s.will)
			s.will = nil
		}
		if published && !expired && s.durable { // the record forgets the will
			e.putRecord(s.record(s.offlineAt, nil))
		}
		s.mu.Unlock()
		if expired && !hold {
			e.endLocked(s, true) // [MQTT-3.1.2-23]
		}
	}
	delete(e.due, sec)
	return wills
}
