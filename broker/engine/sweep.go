package engine

import "time"

// sweeper is the engine's one ticker goroutine: it ends offline sessions
// whose Session Expiry Interval passed and publishes delayed wills that are
// due. It is started by New and stopped by Close (e.done).
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

// sweep runs one pass over the offline sessions.
func (e *Engine) sweep(t int64) {
	var wills []*will
	e.mu.Lock()
	for s := range e.offline {
		s.mu.Lock()
		if s.will != nil && t >= s.willAt { // [MQTT-3.1.3-9]
			wills = append(wills, s.will)
			s.will, s.willAt = nil, 0
		}
		expired := s.expiredAt(t)
		if expired && s.will != nil { // the session ends: its will goes now
			wills = append(wills, s.will)
			s.will = nil
		}
		s.mu.Unlock()
		if expired {
			e.endLocked(s) // [MQTT-3.1.2-23]
		}
	}
	e.mu.Unlock()
	for _, w := range wills {
		e.publishWill(w)
	}
}
