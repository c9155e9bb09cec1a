package engine

import "github.com/imqtt/imqtt/hooks/ext"

// Gauges returns the engine's current sizes for the metrics gauges
// (hooks/metrics Options.Gauges). It walks the session table under its lock
// (one short lock per session for the in-flight count): a scrape costs
// O(sessions), as mochi's Info does.
func (e *Engine) Gauges() ext.Gauges {
	subs, retained := e.topics.counts()
	g := ext.Gauges{Subscriptions: int64(subs), Retained: int64(retained), ClientsConnected: e.st.connected.Load()}
	e.mu.Lock()
	g.ClientsTotal = int64(len(e.sessions))
	g.SessionsDisconnected = int64(len(e.offline))
	sessions := make([]*session, 0, len(e.sessions))
	for _, s := range e.sessions {
		sessions = append(sessions, s)
	}
	e.mu.Unlock()
	for _, s := range sessions {
		s.mu.Lock()
		g.Inflight += int64(s.inUse())
		s.mu.Unlock()
	}
	return g
}
