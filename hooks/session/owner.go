package session

import (
	"fmt"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/internal/logfield"
)

// verdict is the decision on one CONNECT; err nil accepts it.
type verdict struct {
	err   error
	code  packets.Code // CONNACK reason code, MQTT 5
	code3 packets.Code // CONNACK return code, MQTT 3.1.1
	limit string       // imqtt_limit_refusals_total label ("" counts nothing)
	owner string       // the session's owner, for the log
}

// holder is what this node knows holds a client id: its client table (online
// clients, the sessions mochi keeps, the mirrors of other nodes' sessions) and
// the replicated session record.
type holder struct {
	table     *mqtt.Client // the entry of mochi's client table, or nil
	tableUser string
	online    bool // table entry with a live connection on this node
	stored    bool
	rec       Owner
}

// other reports whether the id is held by someone other than user, who, and
// whether by a live connection (here, or on any node per the record).
func (o holder) other(user string) (mismatch, live bool, owner string) {
	if o.table != nil && o.tableUser != user {
		mismatch, owner = true, o.tableUser
		live = o.online
	}
	if o.stored && o.rec.User != user {
		mismatch, owner = true, o.rec.User
		live = live || o.rec.Connected
	}
	return mismatch, live, owner
}

// own reports whether user already holds the id (a resume or a replace).
func (o holder) own(user string) bool {
	return (o.table != nil && o.tableUser == user) || (o.stored && o.rec.User == user)
}

// decide is the one place that decides whether a client may use the session
// its client id names, and whether the user may open another persistent
// session. It runs in OnConnect, after hooks/auth set the identity
// (cl.Properties.Username) and before mochi's takeover (inheritClientSession),
// so a refused CONNECT never disturbs the session's holder.
func (h *Hook) decide(cl *mqtt.Client, _ packets.Packet) verdict {
	id, user := cl.ID, string(cl.Properties.Username)
	o, err := h.lookup(id)
	if err != nil {
		// Fail closed: without the record nobody can tell whose the id is.
		h.log.Error().Err(err).Str(logfield.ClientID, id).Msg("session owner unknown")
		return verdict{err: err, code: packets.ErrServerUnavailable, code3: packets.Err3ServerUnavailable}
	}
	mismatch, live, owner := o.other(user)
	isNew := persistent(cl) && (!o.own(user) || mismatch)

	h.mu.Lock()
	pending := 0
	for c, cm := range h.claims {
		switch {
		case c.Closed():
			delete(h.claims, c) // its connection failed after OnConnect
		case c == cl:
		case cm.id == id && cm.user != user:
			// Another user's CONNECT with this id is being established.
			mismatch, live, owner = true, true, cm.user
		case cm.user == user && cm.newSession:
			pending++
		}
	}
	if mismatch && (h.cfg.OwnerMismatch == MismatchRefuse || live) {
		h.mu.Unlock()
		// [MQTT-3.1.4-2]: the server may refuse a CONNECT for any reason, with
		// CONNACK 0x87 Not authorized (3.2.2.2) / 3.1.1 return code 5.
		return verdict{
			err:  fmt.Errorf("client id %q: %w", id, ErrOwnerMismatch),
			code: packets.ErrNotAuthorized, code3: packets.Err3NotAuthorized,
			limit: LimitOwnerMismatch, owner: owner,
		}
	}
	if isNew && user != "" && h.cfg.MaxPerUser > 0 && h.sessions != nil {
		if n := h.sessions.SessionsOf(user) + pending; n >= h.cfg.MaxPerUser {
			h.mu.Unlock()
			// 3.2.2.2: 0x97 Quota exceeded; 3.1.1 has no such code, 3 Server
			// unavailable is the closest of its six.
			return verdict{
				err:  fmt.Errorf("user %q holds %d: %w", user, n, ErrTooManySessions),
				code: packets.ErrQuotaExceeded, code3: packets.Err3ServerUnavailable,
				limit: LimitMaxPerUser,
			}
		}
	}
	h.claims[cl] = claim{id: id, user: user, newSession: isNew}
	h.mu.Unlock()

	if mismatch { // clean_start, and nobody is connected with the id
		if err := h.discard(id, o, user); err != nil {
			h.release(cl)
			h.log.Error().Err(err).Str(logfield.ClientID, id).Msg("session of another user not discarded")
			return verdict{err: err, code: packets.ErrServerUnavailable, code3: packets.Err3ServerUnavailable}
		}
		h.log.Info().Str(logfield.ClientID, id).Str(logfield.User, user).Str(logfield.Owner, owner).
			Msg("offline session of another user discarded (session.owner_mismatch: clean_start)")
	}
	return verdict{}
}

// lookup reads what holds id.
func (h *Hook) lookup(id string) (holder, error) {
	var o holder
	if e, ok := h.srv.Clients.Get(id); ok {
		// hooks/auth sets Username once, before the client enters the table.
		o.table, o.tableUser = e, string(e.Properties.Username)
		o.online = e.Net.Conn != nil && !e.Closed()
	}
	if h.sessions != nil {
		rec, ok, err := h.sessions.SessionOwner(id)
		if err != nil {
			return holder{}, err
		}
		o.stored, o.rec = ok, rec
	}
	return o, nil
}

// discard removes another user's offline session so that mochi finds nothing
// to take over: the durable record through the replicated write path (its
// observer drops the mirror from the table on every node), then whatever of
// it is left in this node's client table.
func (h *Hook) discard(id string, o holder, user string) error {
	if o.stored && h.sessions != nil {
		if err := h.sessions.Discard(id); err != nil {
			return err
		}
	}
	if e, ok := h.srv.Clients.Get(id); ok && string(e.Properties.Username) != user && (e.Net.Conn == nil || e.Closed()) {
		h.srv.UnsubscribeClient(e)
		e.ClearInflights()
		h.srv.Clients.Delete(id)
	}
	return nil
}

// persistent reports whether cl asks for a session that outlives the
// connection: 3.1.1 clean session 0, MQTT 5 session expiry > 0.
func persistent(cl *mqtt.Client) bool {
	if cl.Properties.ProtocolVersion == 5 {
		return cl.Properties.Props.SessionExpiryInterval > 0
	}
	return !cl.Properties.Clean
}
