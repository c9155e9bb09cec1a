package engine

import "time"

// sweeper is the engine's one ticker goroutine: it ends offline sessions
// whose Session Expiry Interval passed and publishes delayed wills that are
// due, from a wheel of per-second buckets filled by detach. It is started by New and stopped by Close (e.done).
func (e *Engine) sweeper() {
	defer e.wg.Done()
	tick := time.NewTicker(e.cfg.SweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-e.done:
			return
		case <-tick.C:
			e.sweep(now().Unix())
		}
	}
}

// scheduleLocked asks the sweeper to look at s at unix second at (e.mu
// held). An entry is only a hint: the sweep re-checks the session's real
// state, so stale entries (a session that reconnected) cost one look.
func (e *Engine) scheduleLocked(s *session, at int64) {
	if at <= e.swept {
		at = e.swept + 1
	}
	e.due[at] = append(e.due[at], s)
}

// sweep looks at the sessions due up to second t: delayed wills that are
// due are published, expired sessions end. Its cost is the sessions due,
// not all offline sessions.
func (e *Engine) sweep(t int64) {
	var wills []*will
	e.mu.Lock()
	if e.swept == 0 || t-e.swept > 3600 { // first pass, or the clock jumped
		for sec := range e.due {
			if sec <= t {
				wills = e.sweepSecond(sec, t, wills)
			}
		}
	} else {
		for sec := e.swept + 1; sec <= t; sec++ {
			wills = e.sweepSecond(sec, t, wills)
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

func (e *Engine) sweepSecond(sec, t int64, wills []*will) []*will {
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
			e.scheduleLocked(s, t+mirrorRecheck)
		}
		if expired && s.will != nil { // the session ends: its will goes now
			wills = append(wills, s.will)
			s.will = nil
		}
		if published && !expired && s.durable { // the record forgets the will
			e.putRecord(s.record(s.offlineAt*1000, nil))
		}
		s.mu.Unlock()
		if expired && !hold {
			e.endLocked(s, true) // [MQTT-3.1.2-23]
		}
	}
	delete(e.due, sec)
	return wills
}

// ceilUnix is t in unix seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	return (t.UnixNano() + int64(time.Second) - 1) / int64(time.Second)
}
