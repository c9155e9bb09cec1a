package storage

import (
	"fmt"

	"github.com/mochi-mqtt/server/v2/hooks/storage"

	"github.com/imqtt/imqtt/persist"
)

// StoredClients returns the persistent sessions for mochi's client table and
// makes the hook own them (mochi's deliveries to them are vetoed from now on).
func (h *Hook) StoredClients() ([]storage.Client, error) {
	ss, err := h.opts.Store.Sessions()
	if err != nil {
		return nil, fmt.Errorf("load sessions: %w", err)
	}
	if err := h.recoverSessions(ss); err != nil {
		return nil, fmt.Errorf("recover sessions: %w", err)
	}
	out := make([]storage.Client, 0, len(ss))
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range ss {
		s := &ss[i]
		out = append(out, storedClient(s))
		if _, ok := h.sessions[s.ClientID]; !ok {
			h.putSessionLocked(&session{id: s.ClientID, username: s.Username, proto: s.ProtocolVersion})
		}
	}
	return out, nil
}

// StoredSubscriptions returns every stored subscription for mochi's topic index.
func (h *Hook) StoredSubscriptions() ([]storage.Subscription, error) {
	var out []storage.Subscription
	err := h.opts.Store.EachSubscription(func(client string, sub persist.Subscription) error {
		out = append(out, storedSubscription(client, &sub))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load subscriptions: %w", err)
	}
	return out, nil
}

// StoredRetainedMessages returns the unexpired retained messages for mochi's
// retained index.
func (h *Hook) StoredRetainedMessages() ([]storage.Message, error) {
	var out []storage.Message
	err := h.opts.Store.EachRetained(h.now(), func(m persist.Message) error {
		out = append(out, retainedMessage(&m))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load retained: %w", err)
	}
	return out, nil
}
