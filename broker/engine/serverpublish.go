package engine

import "fmt"

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
	if e.closed() {
		return ErrClosed
	}
	if qos > 2 || !validTopic(topic) {
		return fmt.Errorf("%w: %q qos %d", ErrInvalidTopic, topic, qos)
	}
	m := newMessage(topic, payload, nil, min(qos, e.cfg.MaxQoS), retain && e.cfg.RetainAvailable, e.cfg.MaxMessageExpiry, now())
	_, dp := e.route(nil, nil, m)
	e.commitAsync(m, dp)
	return nil
}
