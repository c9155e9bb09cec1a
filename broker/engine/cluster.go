package engine

import (
	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
)

// Cluster routing (ext.Router, ext.RouteTarget): with Options.Router set,
// the index tells the router about every subscription (topics_route.go),
// a client's publish and a will are forwarded after their local routing
// (forward), a connect is announced (routeConnect), and the router calls
// DeliverForwarded, TakeOver and SharedGroups for what other nodes send.

var _ ext.RouteTarget = (*Engine)(nil)

// forward hands m, just routed locally, to the router. pub (nil for wills)
// stops being read while a link to another node is full (as for a full
// subscriber, up to limits.slow_subscriber_wait). It returns the number of
// nodes m was queued for.
func (e *Engine) forward(b *transport.Batch, pub *client, m *message) int {
	if e.router == nil {
		return 0
	}
	sm := ext.StoredMessage{
		Topic:   m.topic,
		Payload: m.payload,
		Props:   m.props,
		QoS:     m.qos,
		Retain:  m.retain,
	}
	if m.expiresAt != 0 {
		sm.ExpiresAt = m.expiresAt * 1000
	}
	if m.origin != nil {
		sm.Origin = m.origin.id
	}
	n, wait := e.router.Forward(sm)
	if wait != nil && pub != nil && b != nil && e.cfg.SlowSubscriberWait > 0 {
		pub.conn.Pause(b, wait, e.cfg.SlowSubscriberWait)
	}
	return n
}

// routeConnect announces cl's connect time (stamped by connected before the
// CONNACK) to the router: the other nodes take over an older connection of
// the id.
func (e *Engine) routeConnect(cl *client) {
	if e.router == nil {
		return
	}
	cl.s.mu.Lock()
	at := cl.at // stamped by connected before the CONNACK
	cl.s.mu.Unlock()
	e.router.Connected(cl.info.ID, at)
}

// DeliverForwarded implements ext.RouteTarget: m, forwarded by another
// node, goes to this node's subscribers with the usual AccessDeliver check,
// no retained update and no forwarding; of the shared groups only those in
// groups are served here.
func (e *Engine) DeliverForwarded(sm *ext.StoredMessage, groups []string) int {
	if e.closed() || !validTopic(sm.Topic) {
		return 0
	}
	props := sm.Props
	props.MessageExpiryInterval = 0 // ExpiresAt is the message's expiry
	props.TopicAlias, props.TopicAliasFlag, props.SubscriptionIdentifier = 0, false, nil
	t := now()
	m := newMessage(sm.Topic, sm.Payload, &props, min(sm.QoS, e.cfg.MaxQoS), false, e.cfg.MaxMessageExpiry, t)
	if sm.ExpiresAt > 0 {
		at := (sm.ExpiresAt + 999) / 1000
		if m.expiresAt == 0 || at < m.expiresAt {
			m.expiresAt = at
		}
	}
	serve := func(g string) bool { return containsStr(groups, g) }
	// Durable sessions are skipped: the origin node wrote their copies
	// through the store.
	n, _ := e.deliverAll(nil, nil, m, e.topics.matchServed(m.topic, serve, nil), nil, true)
	return n
}

// TakeOver implements ext.RouteTarget: the connection of clientID, if it
// connected before at, gets DISCONNECT 0x8E and is closed, its will is
// published, and its session ends here (it now lives on the other node).
// A durable session of a shared store lives on here as a mirror of the
// store's (mirror.go): no disconnect record is written (the other node's
// connect owns it), its will goes unless delayed (the reconnect cancels
// that), and it is read again from the replica (resync).
func (e *Engine) TakeOver(clientID string, at int64) bool {
	var wills []*will
	e.mu.Lock()
	s := e.sessions[clientID]
	if s == nil {
		e.mu.Unlock()
		return false
	}
	s.mu.Lock()
	cl := s.cl
	if cl == nil || cl.at == 0 || cl.at > at {
		s.mu.Unlock()
		e.mu.Unlock()
		return false
	}
	s.cl = nil
	s.releaseQueue(true)
	s.online.Store(false)
	e.st.online(-1)
	if s.durable && e.shared != nil {
		if w := cl.will; w != nil && w.delay == 0 {
			wills = append(wills, w)
		}
		cl.will = nil
		s.remote, s.reload = true, true
		*s.d = dstate{high: unknownHigh}
		s.inflight, s.queue, s.queued, s.inQoS2 = nil, nil, 0, nil
		delete(e.offline, s)
		ready := cl.ready
		s.mu.Unlock()
		e.mu.Unlock()
		if ready { // never a DISCONNECT before the CONNACK [MQTT-3.2.0-1]
			cl.sendDisconnect(nil, ErrTakenOver) // [MQTT-3.1.4-3]
		}
		cl.conn.Close(ErrTakenOver)
		cl.logEvent(e.log.Info()).Str(logfield.Reason, reasonWord(ErrTakenOver)).Msg("client taken over by another node")
		for _, w := range wills {
			e.publishWill(w)
		}
		e.resync(clientID)
		return true
	}
	if cl.will != nil {
		wills = append(wills, cl.will)
		cl.will = nil
	}
	if s.will != nil {
		wills = append(wills, s.will)
		s.will, s.willAt = nil, 0
	}
	ready := cl.ready
	s.mu.Unlock()
	e.endLocked(s, false) // the session lives on the other node now
	e.mu.Unlock()
	if ready { // never a DISCONNECT before the CONNACK [MQTT-3.2.0-1]
		cl.sendDisconnect(nil, ErrTakenOver) // [MQTT-3.1.4-3]
	}
	cl.conn.Close(ErrTakenOver)
	cl.logEvent(e.log.Info()).Str(logfield.Reason, reasonWord(ErrTakenOver)).Msg("client taken over by another node")
	for _, w := range wills {
		e.publishWill(w)
	}
	return true
}

// SharedGroups implements ext.RouteTarget: the shared groups with members
// here whose filter matches topic.
func (e *Engine) SharedGroups(topic string) []string { return e.topics.sharedGroups(topic) }
