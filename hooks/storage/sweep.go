package storage

import (
	"time"

	"github.com/imqtt/imqtt/internal/logfield"
)

// sweepLoop deletes expired offline sessions every SweepInterval while this
// node is the leader (the store is the same on every node; only the leader
// proposes, so the duty follows leadership). Stopped by Stop.
func (h *Hook) sweepLoop() {
	defer h.wg.Done()
	t := time.NewTicker(h.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-t.C:
			h.sweep()
		}
	}
}

// sweep runs one expiry pass.
func (h *Hook) sweep() {
	if h.opts.IsLeader != nil && !h.opts.IsLeader() {
		return
	}
	h.core.sweepStaged()
	ids, err := h.opts.Store.ExpiredSessions(h.now())
	if err != nil {
		h.log.Error().Err(err).Msg("list expired sessions failed")
		return
	}
	n := 0
	h.mu.Lock()
	for _, id := range ids {
		if s, ok := h.sessions[id]; ok && s.cl != nil {
			continue // reconnected meanwhile
		}
		ids[n] = id
		n++
	}
	h.mu.Unlock()
	if n == 0 {
		return
	}
	h.deleteSessions(ids[:n])
	for _, id := range ids[:n] {
		if cl, ok := h.opts.Server.Clients.Get(id); ok && cl.Closed() {
			h.opts.Server.UnsubscribeClient(cl)
			h.opts.Server.Clients.Delete(id)
		}
	}
	h.log.Info().Int(logfield.Count, n).Msg("expired sessions deleted")
}
