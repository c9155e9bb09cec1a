package engine

import (
	"strings"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// message is one application message as the engine keeps it: copied out of
// the pooled read buffer, immutable once built, shared by every delivery,
// queue entry and the retained index.
type message struct {
	topic     string
	payload   []byte
	props     packets.Properties // PUBLISH properties only: no alias, no subscription ids
	origin    *session           // the publisher's session (No Local), nil for wills/retained restores
	expiresAt int64              // unix seconds; 0 = never
	qos       byte
	retain    bool
}

// newMessage copies what the engine keeps of a decoded PUBLISH (or a will)
// out of the packet, whose strings point into the pooled body.
func newMessage(topic string, payload []byte, p *packets.Properties, qos byte, retain bool, maxExpiry time.Duration, now time.Time) *message {
	m := &message{
		topic:   strings.Clone(topic),
		payload: append([]byte(nil), payload...),
		qos:     qos,
		retain:  retain,
	}
	if p != nil {
		// [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17]
		// [MQTT-3.3.2-20]: forwarded unaltered.
		m.props.PayloadFormat = p.PayloadFormat
		m.props.PayloadFormatFlag = p.PayloadFormatFlag
		m.props.ContentType = strings.Clone(p.ContentType)
		m.props.ResponseTopic = strings.Clone(p.ResponseTopic)
		if len(p.CorrelationData) > 0 {
			m.props.CorrelationData = append([]byte(nil), p.CorrelationData...)
		}
		if len(p.User) > 0 {
			m.props.User = make([]packets.UserProperty, len(p.User))
			for i, u := range p.User {
				m.props.User[i] = packets.UserProperty{Key: strings.Clone(u.Key), Val: strings.Clone(u.Val)}
			}
		}
		exp := time.Duration(p.MessageExpiryInterval) * time.Second
		if maxExpiry > 0 && (exp == 0 || exp > maxExpiry) {
			exp = maxExpiry
		}
		if exp > 0 {
			m.expiresAt = now.Add(exp).Unix()
		}
	} else if maxExpiry > 0 {
		m.expiresAt = now.Add(maxExpiry).Unix()
	}
	return m
}

// expired reports whether the message's expiry interval has passed.
func (m *message) expired(now int64) bool { return m.expiresAt != 0 && now >= m.expiresAt }

// remaining is the Message Expiry Interval to forward: the time left
// [MQTT-3.3.2-6]; 0 = none.
func (m *message) remaining(now int64) uint32 {
	if m.expiresAt == 0 {
		return 0
	}
	if r := m.expiresAt - now; r > 0 {
		return uint32(r)
	}
	return 1
}

// size is what the message counts against limits.max_queued_bytes.
func (m *message) size() int64 { return int64(len(m.topic) + len(m.payload) + 64) }
