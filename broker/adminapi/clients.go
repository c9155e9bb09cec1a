package adminapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/internal/logfield"
)

// connected returns the clients connected to this node now (not the inline
// client, not the offline sessions mochi keeps), sorted by client id.
func (a *API) connected() []*mqtt.Client {
	all := a.d.Server.Clients.GetAll()
	out := make([]*mqtt.Client, 0, len(all))
	for _, cl := range all {
		if cl.Net.Inline || cl.Closed() {
			continue
		}
		out = append(out, cl)
	}
	slices.SortFunc(out, func(x, y *mqtt.Client) int { return strings.Compare(x.ID, y.ID) })
	return out
}

// online returns the connected client with id, if any.
func (a *API) online(id string) (*mqtt.Client, bool) {
	cl, ok := a.d.Server.Clients.Get(id)
	if !ok || cl.Net.Inline || cl.Closed() {
		return nil, false
	}
	return cl, true
}

// persistent reports whether cl asked for a session that outlives the
// connection: 3.1.1 clean session false, MQTT 5 session expiry > 0.
func persistent(cl *mqtt.Client) bool {
	if cl.Properties.ProtocolVersion == 5 {
		return cl.Properties.Props.SessionExpiryInterval > 0
	}
	return !cl.Properties.Clean
}

// clientOf describes cl; the durable queue is read for a persistent session.
func (a *API) clientOf(cl *mqtt.Client) Client {
	c := Client{
		ClientID:          cl.ID,
		User:              string(cl.Properties.Username),
		Listener:          cl.Net.Listener,
		Remote:            cl.Net.Remote,
		ProtocolVersion:   cl.Properties.ProtocolVersion,
		Keepalive:         cl.State.Keepalive,
		Clean:             cl.Properties.Clean,
		Persistent:        persistent(cl),
		SubscriptionCount: cl.State.Subscriptions.Len(),
		Inflight:          cl.State.Inflight.Len(),
	}
	if cl.Properties.ProtocolVersion == 5 {
		e := cl.Properties.Props.SessionExpiryInterval
		c.SessionExpiry = &e
	}
	if at, ok := a.d.Tracker.ConnectedAt(cl); ok {
		at = at.UTC()
		c.ConnectedAt = &at
	}
	if c.Persistent {
		// A read error leaves the counts at 0; the listing is still useful.
		c.Queued, c.QueuedBytes, _ = a.d.Store.QueueLen(cl.ID)
	}
	return c
}

// subscriptionsOf returns cl's subscriptions sorted by filter.
func subscriptionsOf(cl *mqtt.Client) []Subscription {
	subs := cl.State.Subscriptions.GetAll()
	out := make([]Subscription, 0, len(subs))
	for _, s := range subs {
		out = append(out, subscriptionOf(s))
	}
	slices.SortFunc(out, func(x, y Subscription) int { return strings.Compare(x.Filter, y.Filter) })
	return out
}

func subscriptionOf(s packets.Subscription) Subscription {
	return Subscription{
		Filter:            s.Filter,
		QoS:               s.Qos,
		NoLocal:           s.NoLocal,
		RetainAsPublished: s.RetainAsPublished,
		RetainHandling:    s.RetainHandling,
		Identifier:        s.Identifier,
	}
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
	for _, cl := range a.connected() {
		switch {
		case pg.skip(cl.ID):
			continue
		case hasUser && string(cl.Properties.Username) != user:
			continue
		case prefix != "" && !strings.HasPrefix(cl.ID, prefix):
			continue
		case listener != "" && cl.Net.Listener != listener:
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
	d := ClientDetail{Client: a.clientOf(cl), Subscriptions: subscriptionsOf(cl)}
	if cl.Properties.Will.Flag > 0 {
		d.WillTopic = cl.Properties.Will.TopicName
	}
	admin.WriteJSON(w, http.StatusOK, d)
}

// kickClient is DELETE /api/v1/clients/{id}: it disconnects the client. An
// MQTT 5 client first gets DISCONNECT 0x98 (administrative action); a 3.1.1
// client, which has no server DISCONNECT, is closed. The session is not
// deleted: a persistent session stays (see DELETE /api/v1/sessions/{id}), and
// the will is published as for any connection that ends without DISCONNECT.
func (a *API) kickClient(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	cl, ok := a.online(id)
	if !ok {
		err := fmt.Errorf("client %q: %w (not connected to this node)", id, ErrNotFound)
		a.audit(r, "kick", err).Str(logfield.ClientID, id).Msg("admin action")
		a.fail(w, err)
		return
	}
	out := Kicked{ClientID: id}
	if cl.Properties.ProtocolVersion == 5 {
		// DisconnectClient writes the DISCONNECT under the client's write lock,
		// stops the client and returns the code itself as the error.
		_ = a.d.Server.DisconnectClient(cl, packets.ErrAdministrativeAction)
		out.Reason = fmt.Sprintf("0x%02x %s", packets.ErrAdministrativeAction.Code, packets.ErrAdministrativeAction.Reason)
	} else {
		cl.Stop(packets.ErrAdministrativeAction)
	}
	a.audit(r, "kick", nil).Str(logfield.ClientID, id).Str(logfield.Listener, cl.Net.Listener).Msg("admin action")
	admin.WriteJSON(w, http.StatusOK, out)
}
