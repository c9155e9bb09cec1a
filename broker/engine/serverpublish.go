package engine

import (
	"fmt"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Publish delivers a message from the server itself ($SYS topics, the
// broker's own notices) as if a client had published it, without the
// publisher's ext.AccessPublish check (the server is trusted): every
// matching subscriber is judged by ext.AccessDeliver, a retained message
// is stored (an empty payload deletes it [MQTT-3.3.1-6]), and qos is
// capped by mqtt.max_qos. Safe from any goroutine; it never blocks on a
// subscriber: a full connection takes QoS 0 as dropped and QoS 1/2 into its
// session's queue (limits.max_queued_bytes). Errors: ErrInvalidTopic,
// ErrClosed after Close.
func (e *Engine) Publish(topic string, payload []byte, qos byte, retain bool) error {
	return e.publish(topic, payload, nil, qos, retain)
}

// PublishMessage is Publish with MQTT 5 properties (ext.Message): the IM
// service's deliveries, whose replies carry the request's Correlation Data.
// The same rules and errors as Publish.
func (e *Engine) PublishMessage(m ext.Message) error {
	var p packets.Properties
	p.ContentType = m.ContentType
	if m.UTF8 {
		p.PayloadFormat, p.PayloadFormatFlag = 1, true
	}
	p.ResponseTopic = m.ResponseTopic
	p.CorrelationData = m.CorrelationData
	return e.publish(m.Topic, m.Payload, &p, m.QoS, m.Retain)
}

func (e *Engine) publish(topic string, payload []byte, p *packets.Properties, qos byte, retain bool) error {
	if e.closed() {
		return ErrClosed
	}
	if qos > 2 || !validTopic(topic) {
		return fmt.Errorf("%w: %q qos %d", ErrInvalidTopic, topic, qos)
	}
	m := newMessage(topic, payload, p, min(qos, e.cfg.MaxQoS), retain && e.cfg.RetainAvailable, e.cfg.MaxMessageExpiry, now())
	_, dp := e.route(nil, nil, m)
	e.commitAsync(m, dp)
	return nil
}

// SubscribedExcept reports whether a subscription of another session than
// client id except matches topic: a member of a shared group counts as
// another (the group may pick anyone). It does not judge ext.AccessDeliver
// and does not move a shared group's round robin. Safe from any goroutine.
func (e *Engine) SubscribedExcept(topic, except string) bool {
	return e.topics.matchesOther(topic, except)
}
