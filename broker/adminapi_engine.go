package broker

import (
	"github.com/imqtt/imqtt/broker/adminapi"
	"github.com/imqtt/imqtt/broker/engine"
)

// engineAdmin is adminapi.MQTT over the engine: its snapshots
// (broker/engine admin.go) in the API's shapes. ForgetSession ends the
// session in the engine's table.
type engineAdmin struct {
	e *engine.Engine
}

var _ adminapi.MQTT = engineAdmin{}

func (a engineAdmin) ConnectedCount() int { return a.e.ConnectedCount() }

func (a engineAdmin) Clients() []adminapi.ConnectedClient {
	cs := a.e.Clients()
	out := make([]adminapi.ConnectedClient, len(cs))
	for i := range cs {
		out[i] = engineClient(&cs[i])
	}
	return out
}

func (a engineAdmin) Client(id string) (adminapi.ConnectedClient, bool) {
	c, ok := a.e.Client(id)
	if !ok {
		return adminapi.ConnectedClient{}, false
	}
	return engineClient(&c), true
}

func engineClient(c *engine.ClientInfo) adminapi.ConnectedClient {
	out := adminapi.ConnectedClient{
		ID:              c.Client.ID,
		User:            c.Client.Username,
		Listener:        c.Client.Listener,
		ProtocolVersion: c.Client.ProtocolVersion,
		Keepalive:       c.Keepalive,
		Clean:           c.Clean,
		SessionExpiry:   c.SessionExpiry,
		ConnectedAt:     c.ConnectedAt,
		Inflight:        c.Inflight,
		Subscriptions:   engineSubscriptions(c.Subscriptions),
		WillTopic:       c.WillTopic,
	}
	if c.Client.Remote.IsValid() {
		out.Remote = c.Client.Remote.String()
	}
	return out
}

func engineSubscriptions(subs []engine.SubscriptionInfo) []adminapi.Subscription {
	out := make([]adminapi.Subscription, len(subs))
	for i, s := range subs {
		out[i] = adminapi.Subscription{
			Filter: s.Filter, QoS: s.QoS, NoLocal: s.NoLocal, RetainAsPublished: s.RetainAsPublished,
			RetainHandling: s.RetainHandling, Identifier: int(s.Identifier),
		}
	}
	return out
}

func (a engineAdmin) Kick(id string) (byte, bool) { return a.e.Kick(id) }

func (a engineAdmin) Sessions() []adminapi.MemorySession {
	ss := a.e.Sessions()
	out := make([]adminapi.MemorySession, len(ss))
	for i, s := range ss {
		out[i] = adminapi.MemorySession{ClientID: s.ClientID, Online: s.Online, Subscriptions: engineSubscriptions(s.Subscriptions)}
	}
	return out
}

func (a engineAdmin) HasSession(id string) bool {
	_, ok := a.e.Session(id)
	return ok
}

// ExpireSession has nothing to do: the API deletes a stored session through
// raft itself, and the engine learns of it through the store's observer.
func (a engineAdmin) ExpireSession(string) {}

func (a engineAdmin) ForgetSession(id string) { a.e.DropSession(id) }

func (a engineAdmin) Retained(filter string) []adminapi.Retained {
	rs := a.e.Retained(filter)
	out := make([]adminapi.Retained, len(rs))
	for i, r := range rs {
		out[i] = adminapi.Retained{Topic: r.Topic, QoS: r.QoS, Payload: r.Payload, PayloadSize: len(r.Payload)}
		if !r.ExpiresAt.IsZero() {
			t := r.ExpiresAt.UTC()
			out[i].Expires = &t
		}
	}
	return out
}

// PublishEmptyRetained is the engine's server publish: the index drops the
// message and current subscribers get the empty one.
func (a engineAdmin) PublishEmptyRetained(topic string) error {
	return a.e.Publish(topic, nil, 0, true)
}

// ClearRetained: Publish with an empty payload always clears the engine's
// index (no hook can refuse it), so there is nothing left to clear.
func (a engineAdmin) ClearRetained(string) {}

// EngineAdminMQTT returns the admin API's view of the native engine e, for
// a node assembled by hand (broker/adminapi's tests).
func EngineAdminMQTT(e *engine.Engine) adminapi.MQTT { return engineAdmin{e: e} }
