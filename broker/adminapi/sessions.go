package adminapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// errStop ends a store scan early.
var errStop = errors.New("stop scan")

// sessionOf describes a stored session; online says whether its client is
// connected to this node.
func (a *API) sessionOf(s *persist.Session) Session {
	out := Session{
		ClientID:        s.ClientID,
		User:            s.Username,
		ProtocolVersion: s.ProtocolVersion,
		NodeID:          s.NodeID,
		DisconnectedAt:  msTime(s.DisconnectedAt),
	}
	_, out.Online = a.online(s.ClientID)
	if s.SessionExpiry != persist.NeverExpires {
		e := s.SessionExpiry
		out.SessionExpiry = &e
	}
	if at, ok := s.ExpiresAt(); ok {
		out.ExpiresAt = msTime(at)
	}
	if out.Online {
		out.DisconnectedAt, out.ExpiresAt = nil, nil // a stale record of a reconnected client
	}
	// Read errors leave the counts at 0; the listing is still useful.
	if subs, err := a.d.Store.Subscriptions(s.ClientID); err == nil {
		out.SubscriptionCount = len(subs)
	}
	out.Queued, out.QueuedBytes, _ = a.d.Store.QueueLen(s.ClientID)
	return out
}

// listSessions is GET /api/v1/sessions?client_id_prefix=&user=&limit=&cursor=:
// the durable sessions of the replicated store, in client id order.
func (a *API) listSessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := parsePage(q)
	if err != nil {
		a.fail(w, err)
		return
	}
	user, prefix := q.Get("user"), q.Get("client_id_prefix")
	_, hasUser := q["user"]
	pg := newPager[Session](p)
	err = a.d.Store.EachSession(func(s persist.Session) error {
		switch {
		case pg.skip(s.ClientID):
			return nil
		case hasUser && s.Username != user:
			return nil
		case prefix != "" && !strings.HasPrefix(s.ClientID, prefix):
			return nil
		}
		if !pg.add(s.ClientID, a.sessionOf(&s)) {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		a.fail(w, fmt.Errorf("read sessions: %w", err))
		return
	}
	admin.WriteJSON(w, http.StatusOK, pg.result())
}

// getSession is GET /api/v1/sessions/{id}.
func (a *API) getSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s, err := a.d.Store.Session(id)
	if err != nil {
		a.fail(w, storeErr(id, err))
		return
	}
	d := SessionDetail{Session: a.sessionOf(&s), Subscriptions: []Subscription{}}
	subs, err := a.d.Store.Subscriptions(id)
	if err != nil {
		a.fail(w, fmt.Errorf("read subscriptions of %q: %w", id, err))
		return
	}
	for _, sub := range subs {
		d.Subscriptions = append(d.Subscriptions, Subscription{
			Filter: sub.Filter, QoS: sub.QoS, NoLocal: sub.NoLocal, RetainAsPublished: sub.RetainAsPublished,
			RetainHandling: sub.RetainHandling, Identifier: int(sub.Identifier),
		})
	}
	if inf, err := a.d.Store.Inflight(id); err == nil {
		d.Inflight = len(inf)
	}
	if s.Will != nil {
		d.WillTopic = s.Will.Topic
	}
	admin.WriteJSON(w, http.StatusOK, d)
}

// storeErr maps persist.ErrNotFound to ErrNotFound.
func storeErr(id string, err error) error {
	if errors.Is(err, persist.ErrNotFound) {
		return fmt.Errorf("session %q: %w", id, ErrNotFound)
	}
	return fmt.Errorf("read session %q: %w", id, err)
}

// deleteSession is DELETE /api/v1/sessions/{id}: it deletes an offline
// durable session (its subscriptions, queue and in-flight records) through
// raft and makes this node forget it, so a client reconnecting with
// that id gets Session Present 0. 409 while the client is connected (kick it
// first), 404 for an unknown id.
func (a *API) deleteSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := a.dropSession(r, id)
	a.audit(r, "delete_session", err).Str(logfield.ClientID, id).Msg("admin action")
	if err != nil {
		a.fail(w, err)
		return
	}
	admin.WriteJSON(w, http.StatusOK, Deleted{Deleted: id})
}

// dropSession does the work of deleteSession, in the order the storage hook's
// expiry sweep uses: durable delete, then the node's session in memory.
func (a *API) dropSession(r *http.Request, id string) error {
	if _, ok := a.online(id); ok {
		return fmt.Errorf("session %q: %w: the client is connected; kick it first", id, ErrSessionOnline)
	}
	_, err := a.d.Store.Session(id)
	stored := err == nil
	if err != nil && !errors.Is(err, persist.ErrNotFound) {
		return storeErr(id, err)
	}
	known := a.d.MQTT.HasSession(id)
	if !stored && !known {
		return fmt.Errorf("session %q: %w", id, ErrNotFound)
	}
	if stored {
		// The storage layer owns the persistent sessions of this node: let it
		// delete the session through raft and forget it, as on expiry.
		if known {
			a.d.MQTT.ExpireSession(id)
		}
		if err := a.deleteStored(r, id); err != nil {
			return err
		}
	}
	// The node's copy in memory: dropped unless the client came back meanwhile.
	a.d.MQTT.ForgetSession(id)
	return nil
}

// deleteStored makes sure the stored session is gone: if the storage hook did
// not delete it (storage off, or the hook did not own it), a DeleteSession
// command goes through raft here. A client that connected meanwhile wins.
func (a *API) deleteStored(r *http.Request, id string) error {
	if _, err := a.d.Store.Session(id); errors.Is(err, persist.ErrNotFound) {
		return nil
	}
	if _, ok := a.online(id); ok {
		return fmt.Errorf("session %q: %w: the client reconnected", id, ErrSessionOnline)
	}
	if err := a.apply(r, persist.DeleteSessionOp(id)); err != nil {
		return fmt.Errorf("delete session %q: %w", id, err)
	}
	return nil
}

// apply commits ops through raft and checks every result. Errors wrap
// ErrNotDurable.
func (a *API) apply(r *http.Request, ops ...persist.Op) error {
	cmd, err := persist.EncodeOps(ops)
	if err != nil {
		return fmt.Errorf("%w: encode: %w", ErrNotDurable, err)
	}
	if err := a.d.Store.CheckSpace(); err != nil {
		return fmt.Errorf("%w: %w", ErrNotDurable, err)
	}
	ctx, cancel := a.applyCtx(r)
	defer cancel()
	res, err := a.d.Apply(ctx, cmd)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotDurable, err)
	}
	if e, ok := res.(error); ok {
		return fmt.Errorf("%w: %w", ErrNotDurable, e)
	}
	rs, ok := res.([]persist.Result)
	if !ok || len(rs) != len(ops) {
		return fmt.Errorf("%w: unexpected apply result %T", ErrNotDurable, res)
	}
	for i := range rs {
		if rs[i].Err != nil {
			return fmt.Errorf("%w: op %d: %w", ErrNotDurable, i, rs[i].Err)
		}
	}
	return nil
}
