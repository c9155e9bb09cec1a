package broker

import (
	"github.com/imqtt/imqtt/hooks/session"
	"github.com/imqtt/imqtt/hooks/storage"
)

// newSessionHook builds the hook that decides who may use a session and how
// much one holds (hooks/session), over the durable store's view of sessions
// when storage is on. Add it right after the auth hook: it needs the
// authenticated identity, and must run before every other OnConnect and
// OnSubscribe.
func (b *Broker) newSessionHook() (*session.Hook, error) {
	opts := session.Options{Server: b.srv, Observer: b.metrics, Log: b.rootLog}
	if b.storage != nil {
		opts.Sessions = storageSessions{b.storage}
	}
	return session.New(b.cfg.Session, b.cfg.Limits.SessionLimits, opts)
}

// storageSessions adapts hooks/storage to session.Sessions.
type storageSessions struct{ h *storage.Hook }

func (s storageSessions) SessionOwner(id string) (session.Owner, bool, error) {
	o, ok, err := s.h.SessionOwner(id)
	return session.Owner{User: o.User, Connected: o.Connected}, ok, err
}

func (s storageSessions) SessionsOf(user string) int { return s.h.SessionsOf(user) }

func (s storageSessions) Discard(id string) error { return s.h.Discard(id) }
