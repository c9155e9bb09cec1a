package broker

import (
	"slices"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/broker/adminapi"
	"github.com/imqtt/imqtt/hooks/storage"
)

// mochiAdmin is adminapi.MQTT over mochi's server, for the mochi path: its
// client table (connected clients and the offline sessions it keeps), its
// retained index, and the storage hook for the durable side of an expiry.
type mochiAdmin struct {
	srv     *mqtt.Server
	tracker *connTracker
	storage *storage.Hook // nil when storage is off
}

var _ adminapi.MQTT = (*mochiAdmin)(nil)

// live reports whether cl is a client connected over a listener.
func live(cl *mqtt.Client) bool { return !cl.Net.Inline && !cl.Closed() }

func (m *mochiAdmin) ConnectedCount() int {
	n := 0
	for _, cl := range m.srv.Clients.GetAll() {
		if live(cl) {
			n++
		}
	}
	return n
}

func (m *mochiAdmin) Clients() []adminapi.ConnectedClient {
	all := m.srv.Clients.GetAll()
	out := make([]adminapi.ConnectedClient, 0, len(all))
	for _, cl := range all {
		if live(cl) {
			out = append(out, m.client(cl))
		}
	}
	return out
}

func (m *mochiAdmin) Client(id string) (adminapi.ConnectedClient, bool) {
	cl, ok := m.srv.Clients.Get(id)
	if !ok || !live(cl) {
		return adminapi.ConnectedClient{}, false
	}
	return m.client(cl), true
}

func (m *mochiAdmin) client(cl *mqtt.Client) adminapi.ConnectedClient {
	c := adminapi.ConnectedClient{
		ID:              cl.ID,
		User:            string(cl.Properties.Username),
		Listener:        cl.Net.Listener,
		Remote:          cl.Net.Remote,
		ProtocolVersion: cl.Properties.ProtocolVersion,
		Keepalive:       cl.State.Keepalive,
		Clean:           cl.Properties.Clean,
		SessionExpiry:   cl.Properties.Props.SessionExpiryInterval,
		Inflight:        cl.State.Inflight.Len(),
		Subscriptions:   mochiSubscriptions(cl),
	}
	c.ConnectedAt, _ = m.tracker.connectedAt(cl)
	if cl.Properties.Will.Flag > 0 {
		c.WillTopic = cl.Properties.Will.TopicName
	}
	return c
}

// mochiSubscriptions returns cl's subscriptions sorted by filter.
func mochiSubscriptions(cl *mqtt.Client) []adminapi.Subscription {
	subs := cl.State.Subscriptions.GetAll()
	out := make([]adminapi.Subscription, 0, len(subs))
	for _, s := range subs {
		out = append(out, adminapi.Subscription{
			Filter: s.Filter, QoS: s.Qos, NoLocal: s.NoLocal, RetainAsPublished: s.RetainAsPublished,
			RetainHandling: s.RetainHandling, Identifier: s.Identifier,
		})
	}
	sortSubscriptions(out)
	return out
}

func (m *mochiAdmin) Kick(id string) (byte, bool) {
	cl, ok := m.srv.Clients.Get(id)
	if !ok || !live(cl) {
		return 0, false
	}
	v := cl.Properties.ProtocolVersion
	if v == 5 {
		// DisconnectClient writes the DISCONNECT under the client's write lock,
		// stops the client and returns the code itself as the error.
		_ = m.srv.DisconnectClient(cl, packets.ErrAdministrativeAction)
	} else {
		cl.Stop(packets.ErrAdministrativeAction)
	}
	return v, true
}

func (m *mochiAdmin) Sessions() []adminapi.MemorySession {
	all := m.srv.Clients.GetAll()
	out := make([]adminapi.MemorySession, 0, len(all))
	for _, cl := range all {
		if cl.Net.Inline {
			continue
		}
		out = append(out, adminapi.MemorySession{ClientID: cl.ID, Online: !cl.Closed(), Subscriptions: mochiSubscriptions(cl)})
	}
	return out
}

func (m *mochiAdmin) HasSession(id string) bool {
	cl, ok := m.srv.Clients.Get(id)
	return ok && !cl.Net.Inline
}

// ExpireSession is the storage hook's expiry of an offline client mochi
// still holds (it applies DeleteSession through raft and forgets it).
func (m *mochiAdmin) ExpireSession(id string) {
	if m.storage == nil {
		return
	}
	if cl, ok := m.srv.Clients.Get(id); ok && !cl.Net.Inline {
		m.storage.OnClientExpired(cl)
	}
}

// ForgetSession drops mochi's offline client, as the storage hook's expiry
// sweep does.
func (m *mochiAdmin) ForgetSession(id string) {
	if cl, ok := m.srv.Clients.Get(id); ok && cl.Closed() && !cl.Net.Inline {
		m.srv.UnsubscribeClient(cl)
		m.srv.Clients.Delete(id)
	}
}

func (m *mochiAdmin) Retained(filter string) []adminapi.Retained {
	msgs := m.srv.Topics.Messages(filter)
	out := make([]adminapi.Retained, 0, len(msgs))
	for i := range msgs {
		p := &msgs[i]
		out = append(out, adminapi.Retained{
			Topic: p.TopicName, QoS: p.FixedHeader.Qos, Payload: p.Payload, PayloadSize: len(p.Payload),
			Created: unixTime(p.Created), Expires: unixTime(p.Expiry),
		})
	}
	return out
}

// PublishEmptyRetained goes through mochi's hooks like a client's publish:
// the storage hook applies DeleteRetained through raft.
func (m *mochiAdmin) PublishEmptyRetained(topic string) error {
	return m.srv.Publish(topic, nil, true, 0)
}

func (m *mochiAdmin) ClearRetained(topic string) {
	m.srv.Topics.RetainMessage(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true},
		TopicName:   topic,
	})
}

// sortSubscriptions sorts subs by filter.
func sortSubscriptions(subs []adminapi.Subscription) {
	slices.SortFunc(subs, func(x, y adminapi.Subscription) int { return strings.Compare(x.Filter, y.Filter) })
}

// unixTime returns a UTC pointer for non-zero unix seconds, else nil.
func unixTime(s int64) *time.Time {
	if s <= 0 {
		return nil
	}
	t := time.Unix(s, 0).UTC()
	return &t
}

// connTrackerID is the mochi hook id of connTracker.
const connTrackerID = "imqtt-adminapi-tracker"

// connTracker is a mochi hook that remembers when each connection's session
// was established (mochi keeps no such time), for the admin API's
// connected_at. It provides OnSessionEstablished and OnDisconnect only,
// never changes a packet and owns no goroutine.
type connTracker struct {
	mqtt.HookBase
	mu    sync.Mutex
	since map[*mqtt.Client]time.Time
}

func newConnTracker() *connTracker {
	return &connTracker{since: make(map[*mqtt.Client]time.Time)}
}

// ID implements mqtt.Hook.
func (t *connTracker) ID() string { return connTrackerID }

// Provides implements mqtt.Hook.
func (t *connTracker) Provides(b byte) bool {
	return b == mqtt.OnSessionEstablished || b == mqtt.OnDisconnect
}

// Init implements mqtt.Hook; the tracker takes no config.
func (t *connTracker) Init(config any) error {
	if config != nil {
		return ErrInvalidConfig
	}
	return nil
}

// Stop implements mqtt.Hook: it forgets every connection. Idempotent.
func (t *connTracker) Stop() error {
	t.mu.Lock()
	clear(t.since)
	t.mu.Unlock()
	return nil
}

// OnSessionEstablished records the time the CONNACK was written.
func (t *connTracker) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	t.mu.Lock()
	t.since[cl] = time.Now()
	t.mu.Unlock()
}

// OnDisconnect forgets the connection.
func (t *connTracker) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	t.mu.Lock()
	delete(t.since, cl)
	t.mu.Unlock()
}

// connectedAt returns when cl's session was established, and false for a
// client the tracker did not see connect.
func (t *connTracker) connectedAt(cl *mqtt.Client) (time.Time, bool) {
	t.mu.Lock()
	at, ok := t.since[cl]
	t.mu.Unlock()
	return at, ok
}

// MochiAdminMQTT returns the admin API's view of mochi's server srv for a
// node assembled by hand (broker/adminapi's tests), and the connection
// tracker hook (connected_at) to add to srv before Serve. storage is the
// storage hook, nil when storage is off.
func MochiAdminMQTT(srv *mqtt.Server, storage *storage.Hook) (adminapi.MQTT, mqtt.Hook) {
	t := newConnTracker()
	return &mochiAdmin{srv: srv, tracker: t, storage: storage}, t
}
