package storage

import (
	"errors"
	"fmt"

	"github.com/imqtt/imqtt/persist"
)

// Who owns a session, and how many a user has: the facts hooks/session needs
// to decide a CONNECT (see doc.go "Owners"). The hook decides nothing here.

// StoredOwner is the replicated record of a persistent session, as far as an
// ownership decision needs it.
type StoredOwner struct {
	// User is the authenticated identity that created the session ("" for an
	// anonymous client).
	User string
	// Connected is true while a client holds the session on some node of the
	// cluster (the record carries no disconnect time).
	Connected bool
}

// SessionOwner reads the persistent session clientID from this node's replica
// of the store: ok is false when there is none. The replica is the cluster's
// state up to the replication lag, so a session created through another node
// is seen once that node's write is applied here. Safe for concurrent use; one
// store read.
func (h *Hook) SessionOwner(clientID string) (owner StoredOwner, ok bool, err error) {
	s, err := h.opts.Store.Session(clientID)
	if errors.Is(err, persist.ErrNotFound) {
		return StoredOwner{}, false, nil
	}
	if err != nil {
		return StoredOwner{}, false, fmt.Errorf("read session %q: %w", clientID, err)
	}
	return StoredOwner{User: s.Username, Connected: s.DisconnectedAt == 0}, true, nil
}

// SessionsOf returns how many persistent sessions user holds in the cluster,
// from the registry (which mirrors every node's session writes, doc.go
// "Cluster"). Safe for concurrent use; O(1).
func (h *Hook) SessionsOf(user string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.perUser[user]
}

// Discard deletes the offline persistent session clientID through the node
// (its subscriptions, queue and in-flight state go with it) so that the next
// CONNECT with that id starts clean. The store's observer then drops it from
// the registry, mochi's client table and topic index on every node. It
// returns ErrSessionConnected, and deletes nothing, while a client of this
// node holds the session.
func (h *Hook) Discard(clientID string) error {
	h.mu.Lock()
	s := h.sessions[clientID]
	busy := s != nil && s.cl != nil || h.establishing[clientID] > 0
	h.mu.Unlock()
	if busy {
		return fmt.Errorf("discard session %q: %w", clientID, ErrSessionConnected)
	}
	if _, err := h.apply([]persist.Op{persist.DeleteSessionOp(clientID)}); err != nil {
		return fmt.Errorf("discard session %q: %w", clientID, err)
	}
	h.mu.Lock()
	if s := h.sessions[clientID]; s != nil && s.cl == nil {
		h.deleteSessionLocked(clientID) // the observer does it too, on every node
	}
	h.mu.Unlock()
	return nil
}

// putSessionLocked registers s under its username (h.mu held).
func (h *Hook) putSessionLocked(s *session) {
	if old := h.sessions[s.id]; old != nil {
		h.uncountLocked(old.username)
	}
	h.core.bound.forget(s.id) // a new session: its queue is counted afresh
	h.sessions[s.id] = s
	h.perUser[s.username]++
}

// deleteSessionLocked forgets the session id (h.mu held).
func (h *Hook) deleteSessionLocked(id string) {
	if s := h.sessions[id]; s != nil {
		h.uncountLocked(s.username)
		delete(h.sessions, id)
		h.core.bound.forget(id)
	}
}

// setUserLocked changes the owner recorded for a registered session (h.mu held).
func (h *Hook) setUserLocked(s *session, user string) {
	if s.username == user {
		return
	}
	if h.sessions[s.id] == s {
		h.uncountLocked(s.username)
		h.perUser[user]++
	}
	s.username = user
}

func (h *Hook) uncountLocked(user string) {
	if h.perUser[user]--; h.perUser[user] <= 0 {
		delete(h.perUser, user)
	}
}
