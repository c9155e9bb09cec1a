package engine

import (
	"slices"
	"strings"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/hooks/ext"
)

// The operator's view (the admin API, broker/adminapi, through a thin
// adapter in broker): read-only snapshots copied out under the locks, never
// a pointer into the engine's state, and the two actions an operator takes
// on the MQTT side: kick a client and forget an offline session. Retained
// messages are read here and deleted through Publish (an empty retained
// message: current subscribers are told [MQTT-3.3.1-10]).

// SubscriptionInfo is one subscription of a session.
type SubscriptionInfo struct {
	Filter            string // as subscribed ($share/{group}/{filter} for a shared one)
	QoS               byte   // the granted QoS
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte
	Identifier        uint32 // 0 = none
}

// ClientInfo is a connected client.
type ClientInfo struct {
	// Client is the connection's identity (TLS left out: the snapshot
	// holds no pointer into the connection).
	Client        ext.Client
	Keepalive     uint16    // the keepalive in force, seconds
	Clean         bool      // Clean Session (3.1.1) / Clean Start (5) of the CONNECT
	SessionExpiry uint32    // the Session Expiry Interval in force, seconds (3.1.1: 0 or the maximum)
	ConnectedAt   time.Time // when the CONNACK was queued
	Inflight      int       // outbound QoS 1/2 messages waiting for their acks
	Queued        int       // outbound QoS 1/2 messages waiting for the window
	QueuedBytes   int64
	WillTopic     string // "" without a will
	Subscriptions []SubscriptionInfo
}

// SessionInfo is a session of the table, connected or offline.
type SessionInfo struct {
	ClientID      string
	User          string
	Online        bool
	Expiry        uint32    // Session Expiry Interval, seconds
	OfflineAt     time.Time // zero while connected
	Subscriptions []SubscriptionInfo
}

// RetainedInfo is a retained message.
type RetainedInfo struct {
	Topic     string
	Payload   []byte // a copy
	QoS       byte
	ExpiresAt time.Time // zero = never
}

// subscriptionsLocked copies s's subscriptions, sorted by filter (s.mu held).
func (s *session) subscriptionsLocked() []SubscriptionInfo {
	out := make([]SubscriptionInfo, 0, len(s.subs))
	for f, o := range s.subs {
		out = append(out, SubscriptionInfo{
			Filter: f, QoS: o.qos, NoLocal: o.noLoc, RetainAsPublished: o.rap,
			RetainHandling: o.rh, Identifier: o.id,
		})
	}
	slices.SortFunc(out, func(x, y SubscriptionInfo) int { return strings.Compare(x.Filter, y.Filter) })
	return out
}

// clientLocked copies the connected client of s (s.mu held, s.cl != nil).
func (s *session) clientLocked() ClientInfo {
	cl := s.cl
	c := ClientInfo{
		Client:        cl.info,
		Keepalive:     cl.keepalive,
		Clean:         cl.clean,
		SessionExpiry: s.expiry,
		Inflight:      len(s.inflight),
		Queued:        len(s.queue),
		QueuedBytes:   s.queued,
		Subscriptions: s.subscriptionsLocked(),
	}
	c.Client.TLS = nil
	if cl.connectedAt != 0 {
		c.ConnectedAt = time.UnixMilli(cl.connectedAt)
	}
	if cl.will != nil {
		c.WillTopic = cl.will.m.topic
	}
	return c
}

// table returns the sessions of the table sorted by client id.
func (e *Engine) table() []*session {
	e.mu.Lock()
	all := make([]*session, 0, len(e.sessions))
	for _, s := range e.sessions {
		all = append(all, s)
	}
	e.mu.Unlock()
	slices.SortFunc(all, func(x, y *session) int { return strings.Compare(x.id, y.id) })
	return all
}

// lookup returns the session of id, nil if none.
func (e *Engine) lookup(id string) *session {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sessions[id]
}

// ConnectedCount is the number of connected clients.
func (e *Engine) ConnectedCount() int { return int(e.st.connected.Load()) }

// Clients returns the connected clients, sorted by client id.
func (e *Engine) Clients() []ClientInfo {
	var out []ClientInfo
	for _, s := range e.table() {
		s.mu.Lock()
		if s.cl != nil && !s.ended {
			out = append(out, s.clientLocked())
		}
		s.mu.Unlock()
	}
	return out
}

// Client returns the connected client with client id id.
func (e *Engine) Client(id string) (ClientInfo, bool) {
	s := e.lookup(id)
	if s == nil {
		return ClientInfo{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl == nil || s.ended {
		return ClientInfo{}, false
	}
	return s.clientLocked(), true
}

// Sessions returns every session of the table, connected or offline, with
// its subscriptions, sorted by client id.
func (e *Engine) Sessions() []SessionInfo {
	var out []SessionInfo
	for _, s := range e.table() {
		if si, ok := s.snapshot(); ok {
			out = append(out, si)
		}
	}
	return out
}

// Session returns the session of client id id, connected or offline.
func (e *Engine) Session(id string) (SessionInfo, bool) {
	s := e.lookup(id)
	if s == nil {
		return SessionInfo{}, false
	}
	return s.snapshot()
}

// snapshot copies s; false when it ended meanwhile.
func (s *session) snapshot() (SessionInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return SessionInfo{}, false
	}
	si := SessionInfo{
		ClientID: s.id, User: s.user, Online: s.cl != nil, Expiry: s.expiry,
		Subscriptions: s.subscriptionsLocked(),
	}
	if s.cl == nil && s.offlineAt != 0 {
		si.OfflineAt = time.UnixMilli(s.offlineAt)
	}
	return si, true
}

// Kick ends the connection of client id id for an operator: an MQTT 5
// client gets DISCONNECT 0x98 (administrative action) [MQTT-3.14.2-1], a
// 3.1.1 client is closed. The session stays, as after any connection loss
// (the will is published, an expiry of 0 ends it). It returns the protocol
// version of the kicked client, and false when no client with that id is
// connected.
func (e *Engine) Kick(id string) (version byte, ok bool) {
	s := e.lookup(id)
	if s == nil {
		return 0, false
	}
	s.mu.Lock()
	cl := s.cl
	if cl == nil || s.ended {
		s.mu.Unlock()
		return 0, false
	}
	// Under s.mu, as a takeover does: the DISCONNECT follows every PUBLISH
	// already queued for the client.
	if cl.ready { // never a DISCONNECT before the CONNACK [MQTT-3.2.0-1]
		cl.sendDisconnect(nil, packets.ErrAdministrativeAction)
	}
	s.mu.Unlock()
	cl.conn.Close(packets.ErrAdministrativeAction)
	return cl.info.ProtocolVersion, true
}

// DropSession ends the offline session of client id id: its subscriptions,
// queue and delayed will are gone (the will is not published), and a client
// connecting with that id gets Session Present 0. known is false when the
// table holds no session for id; online is true, with nothing changed, when
// its client is connected (here, or on another node of a cluster). The
// session was dropped when known && !online.
func (e *Engine) DropSession(id string) (known, online bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.sessions[id]
	if s == nil {
		return false, false
	}
	s.mu.Lock()
	online = s.cl != nil || s.remote // connected here or on another node
	if !online {
		s.will, s.willAt = nil, 0
	}
	s.mu.Unlock()
	if !online {
		e.endLocked(s, true) // a durable record is deleted too
	}
	return true, online
}

// Retained returns the retained messages whose topic filter matches, sorted
// by topic; expired ones are left out. filter must be valid (not shared).
func (e *Engine) Retained(filter string) []RetainedInfo {
	msgs := e.topics.retained(filter, nil)
	t := now().Unix()
	out := make([]RetainedInfo, 0, len(msgs))
	for _, m := range msgs {
		if m.expired(t) {
			continue
		}
		r := RetainedInfo{Topic: m.topic, Payload: slices.Clone(m.payload), QoS: m.qos}
		if m.expiresAt != 0 {
			r.ExpiresAt = time.Unix(m.expiresAt, 0)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y RetainedInfo) int { return strings.Compare(x.Topic, y.Topic) })
	return out
}
