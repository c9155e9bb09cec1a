package storage

import (
	"slices"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/persist"
)

// Conversions between the engine's store types (hooks/ext) and persist's
// records, for EngineStore. The records are the ones the mochi hook writes,
// so a data directory moves between the two paths (doc.go "Engine store").
//
// Expiry: persist keeps the absolute expiry (Message.Expiry) and the
// publisher's interval (Properties.MessageExpiry). A message with an
// ExpiresAt stores it with the interval it implies (from Created, rounded
// up); a message without one stores no interval, and its queued copies carry
// only the retention bound. Read back, ExpiresAt is the stored expiry when
// an interval was stored, else 0.

// propsRecord converts the PUBLISH properties that travel with a message.
func propsRecord(p *packets.Properties) persist.Properties {
	r := persist.Properties{
		ContentType:     p.ContentType,
		ResponseTopic:   p.ResponseTopic,
		CorrelationData: p.CorrelationData,
	}
	if p.PayloadFormatFlag && p.PayloadFormat == 1 {
		r.PayloadFormat = 1
	}
	if len(p.User) > 0 {
		r.UserProperties = make([]persist.UserProperty, len(p.User))
		for i, u := range p.User {
			r.UserProperties[i] = persist.UserProperty{Key: u.Key, Value: u.Val}
		}
	}
	return r
}

// extProps converts stored properties back (no expiry, no identifiers: those
// are fields of their own).
func extProps(r *persist.Properties) packets.Properties {
	p := packets.Properties{
		ContentType:     r.ContentType,
		ResponseTopic:   r.ResponseTopic,
		CorrelationData: r.CorrelationData,
	}
	if r.PayloadFormat == 1 {
		p.PayloadFormat, p.PayloadFormatFlag = 1, true
	}
	if len(r.UserProperties) > 0 {
		p.User = make([]packets.UserProperty, len(r.UserProperties))
		for i, u := range r.UserProperties {
			p.User[i] = packets.UserProperty{Key: u.Key, Val: u.Value}
		}
	}
	return p
}

// messageRecord converts m with the given effective QoS, RETAIN flag,
// subscription identifiers and absolute expiry (unix ms, 0 = none).
func messageRecord(m *ext.StoredMessage, created int64, qos byte, retain bool, subIDs []int, expiry int64) persist.Message {
	r := persist.Message{
		Topic: m.Topic, Payload: m.Payload, QoS: qos, Retain: retain,
		Created: created, Expiry: expiry, Origin: m.Origin,
		Properties: propsRecord(&m.Props),
	}
	if m.ExpiresAt > 0 {
		r.Properties.MessageExpiry = expiryInterval(created, m.ExpiresAt)
	}
	if len(subIDs) > 0 {
		r.Properties.SubscriptionIDs = slices.Clone(subIDs)
		slices.Sort(r.Properties.SubscriptionIDs)
	}
	return r
}

// expiryInterval is the Message Expiry Interval (seconds, at least 1) of a
// message created at created that expires at expiresAt (unix ms).
func expiryInterval(created, expiresAt int64) uint32 {
	d := (expiresAt - created + 999) / 1000
	return uint32(min(max(d, 1), int64(^uint32(0))))
}

// storedMessage converts a stored message back.
func storedMessage(r *persist.Message) ext.StoredMessage {
	m := ext.StoredMessage{
		Topic: r.Topic, Payload: r.Payload, Props: extProps(&r.Properties),
		QoS: r.QoS, Retain: r.Retain, Origin: r.Origin, Created: r.Created,
	}
	if r.Properties.MessageExpiry > 0 {
		m.ExpiresAt = r.Expiry
	}
	return m
}

// copyRecord is the queued copy of p's message for c: c's QoS, RETAIN flag
// and identifiers, and an expiry of min(the message's, created + retention).
func copyRecord(m *ext.StoredMessage, c *ext.Copy, created int64, retention time.Duration) persist.Message {
	expiry := created + retention.Milliseconds()
	if m.ExpiresAt > 0 {
		expiry = min(expiry, m.ExpiresAt)
	}
	return messageRecord(m, created, c.QoS, c.Retain, c.SubIDs, expiry)
}

// retainedRecord is the retained message of m's topic.
func retainedRecord(m *ext.StoredMessage, created int64) persist.Message {
	return messageRecord(m, created, m.QoS, true, nil, max(m.ExpiresAt, 0))
}

// queuedMessage converts a queue entry: the copy's own QoS, RETAIN flag and
// identifiers (Message.QoS and Message.Retain are the copy's too: the
// publish's own values are not stored per copy).
func queuedMessage(q *persist.QueuedMessage) ext.Queued {
	m := storedMessage(&q.Message)
	return ext.Queued{
		Seq: q.Seq, Message: m, QoS: q.Message.QoS, Retain: q.Message.Retain,
		SubIDs: q.Message.Properties.SubscriptionIDs,
	}
}

// sessionFromExt converts a session; a will keeps every property, its
// Message Expiry Interval included (ext.Will).
func sessionFromExt(s *ext.Session) persist.Session {
	r := persist.Session{
		ClientID: s.ClientID, Username: s.Username, ProtocolVersion: s.ProtocolVersion,
		SessionExpiry: s.Expiry, DisconnectedAt: s.DisconnectedAt,
	}
	if w := s.Will; w != nil {
		r.Will = &persist.Will{
			Topic: w.Topic, Payload: w.Payload, QoS: w.QoS, Retain: w.Retain,
			DelaySeconds: w.Delay, Properties: propsRecord(&w.Props),
		}
		r.Will.Properties.MessageExpiry = w.Props.MessageExpiryInterval
	}
	return r
}

// extSession converts a stored session back; a will's Origin is its client.
func extSession(r *persist.Session) ext.Session {
	s := ext.Session{
		ClientID: r.ClientID, Username: r.Username, ProtocolVersion: r.ProtocolVersion,
		Expiry: r.SessionExpiry, DisconnectedAt: r.DisconnectedAt, Node: r.NodeID,
	}
	if w := r.Will; w != nil {
		s.Will = &ext.Will{
			StoredMessage: ext.StoredMessage{
				Topic: w.Topic, Payload: w.Payload, Props: extProps(&w.Properties),
				QoS: w.QoS, Retain: w.Retain, Origin: r.ClientID,
			},
			Delay: w.DelaySeconds,
		}
		s.Will.Props.MessageExpiryInterval = w.Properties.MessageExpiry
	}
	return s
}

// subscriptionFromExt / extSubscription convert a subscription.
func subscriptionFromExt(s *ext.Subscription) persist.Subscription {
	return persist.Subscription{
		Filter: s.Filter, QoS: s.QoS, NoLocal: s.NoLocal, RetainAsPublished: s.RetainAsPublished,
		RetainHandling: s.RetainHandling, Identifier: s.Identifier,
	}
}

func extSubscription(r *persist.Subscription) ext.Subscription {
	return ext.Subscription{
		Filter: r.Filter, QoS: r.QoS, NoLocal: r.NoLocal, RetainAsPublished: r.RetainAsPublished,
		RetainHandling: r.RetainHandling, Identifier: r.Identifier,
	}
}
