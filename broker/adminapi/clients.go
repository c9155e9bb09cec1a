package adminapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/internal/logfield"
)

// connected returns the clients connected to this node now, sorted by
// client id.
func (a *API) connected() []ConnectedClient {
	out := a.d.MQTT.Clients()
	slices.SortFunc(out, func(x, y ConnectedClient) int { return strings.Compare(x.ID, y.ID) })
	return out
}

// online returns the connected client with id, if any.
func (a *API) online(id string) (ConnectedClient, bool) {
	return a.d.MQTT.Client(id)
}

// persistent reports whether cl asked for a session that outlives the
// connection: 3.1.1 clean session false, MQTT 5 session expiry > 0.
func persistent(cl *ConnectedClient) bool {
	if cl.ProtocolVersion == 5 {
		return cl.SessionExpiry > 0
	}
	return !cl.Clean
}

// clientOf describes cl; the durable queue is read for a persistent session.
func (a *API) clientOf(cl *ConnectedClient) Client {
	c := Client{
		ClientID:          cl.ID,
		User:              cl.User,
		Listener:          cl.Listener,
		Remote:            cl.Remote,
		ProtocolVersion:   cl.ProtocolVersion,
		Keepalive:         cl.Keepalive,
		Clean:             cl.Clean,
		Persistent:        persistent(cl),
		SubscriptionCount: len(cl.Subscriptions),
		Inflight:          cl.Inflight,
	}
	if cl.ProtocolVersion == 5 {
		e := cl.SessionExpiry
		c.SessionExpiry = &e
	}
	if !cl.ConnectedAt.IsZero() {
		at := cl.ConnectedAt.UTC()
		c.ConnectedAt = &at
	}
	if c.Persistent {
		// A read error leaves the counts at 0; the listing is still useful.
		c.Queued, c.QueuedBytes, _ = a.d.Store.QueueLen(cl.ID)
	}
	return c
}

// listClients is GET /api/v1/clients?user=&client_id_prefix=&listener=&limit=&cursor=.
func (a *API) listClients(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := parsePage(q)
	if err != nil {
		a.fail(w, err)
		return
	}
	user, prefix, listener := q.Get("user"), q.Get("client_id_prefix"), q.Get("listener")
	_, hasUser := q["user"]
	pg := newPager[Client](p)
	clients := a.connected()
	for i := range clients {
		cl := &clients[i]
		switch {
		case pg.skip(cl.ID):
			continue
		case hasUser && cl.User != user:
			continue
		case prefix != "" && !strings.HasPrefix(cl.ID, prefix):
			continue
		case listener != "" && cl.Listener != listener:
			continue
		}
		if !pg.add(cl.ID, a.clientOf(cl)) {
			break
		}
	}
	admin.WriteJSON(w, http.StatusOK, pg.result())
}

// getClient is GET /api/v1/clients/{id}: a connected client with its
// subscriptions; 404 when no client with that id is connected.
func (a *API) getClient(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	cl, ok := a.online(id)
	if !ok {
		a.fail(w, fmt.Errorf("client %q: %w (not connected to this node)", id, ErrNotFound))
		return
	}
	d := ClientDetail{Client: a.clientOf(&cl), Subscriptions: cl.Subscriptions, WillTopic: cl.WillTopic}
	if d.Subscriptions == nil {
		d.Subscriptions = []Subscription{}
	}
	admin.WriteJSON(w, http.StatusOK, d)
}

// reasonAdministrativeAction is Kicked.Reason for an MQTT 5 client.
const reasonAdministrativeAction = "0x98 administrative action"

// kickClient is DELETE /api/v1/clients/{id}: it disconnects the client. An
// MQTT 5 client first gets DISCONNECT 0x98 (administrative action); a 3.1.1
// client, which has no server DISCONNECT, is closed. The session is not
// deleted: a persistent session stays (see DELETE /api/v1/sessions/{id}), and
// the will is published as for any connection that ends without DISCONNECT.
func (a *API) kickClient(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	cl, _ := a.online(id) // for the audit line's listener
	v, ok := a.d.MQTT.Kick(id)
	if !ok {
		err := fmt.Errorf("client %q: %w (not connected to this node)", id, ErrNotFound)
		a.audit(r, "kick", err).Str(logfield.ClientID, id).Msg("admin action")
		a.fail(w, err)
		return
	}
	out := Kicked{ClientID: id}
	if v == 5 {
		out.Reason = reasonAdministrativeAction
	}
	a.audit(r, "kick", nil).Str(logfield.ClientID, id).Str(logfield.Listener, cl.Listener).Msg("admin action")
	admin.WriteJSON(w, http.StatusOK, out)
}
