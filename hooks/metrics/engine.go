package metrics

import (
	"github.com/imqtt/imqtt/hooks/ext"
)

// EngineObserver counts the engine's events into the same imqtt_* families
// the mochi hook fills, so dashboards read the same series on either path.
// It implements ext.Observer; every method is cheap and safe for concurrent
// use.
type EngineObserver struct{ m *Metrics }

// NewEngineObserver returns the engine's observer over m.
func NewEngineObserver(m *Metrics) *EngineObserver { return &EngineObserver{m: m} }

var _ ext.Observer = (*EngineObserver)(nil)

// publishType is the PUBLISH packet type (MQTT 5 section 2.1.2).
const publishType = 3

// ClientConnected counts an established session on its listener.
func (o *EngineObserver) ClientConnected(c *ext.Client) {
	lm := o.m.listener(c.Listener)
	lm.established.Inc()
	lm.active.Inc()
}

// ClientDisconnected ends a session counted by ClientConnected (the engine
// calls each once per connection).
func (o *EngineObserver) ClientDisconnected(c *ext.Client, _ string) {
	o.m.listener(c.Listener).active.Dec()
}

// PacketReceived counts one inbound packet of size bytes on the wire.
func (o *EngineObserver) PacketReceived(header byte, size int) {
	m := o.m
	t := header >> 4
	if c := m.packetsReceived[t]; c != nil {
		c.Inc()
	}
	m.bytesReceived.Add(float64(size))
	if qos := header >> 1 & 3; t == publishType && qos < 3 {
		m.messagesReceived[qos].Inc()
	}
}

// PacketSent counts one outbound packet of size bytes on the wire.
func (o *EngineObserver) PacketSent(header byte, size int) {
	m := o.m
	t := header >> 4
	if c := m.packetsSent[t]; c != nil {
		c.Inc()
	}
	m.bytesSent.Add(float64(size))
	if qos := header >> 1 & 3; t == publishType && qos < 3 {
		m.messagesSent[qos].Inc()
	}
}

// MessageDropped counts a message not delivered to one subscriber under the
// reason label of imqtt_messages_dropped_total.
func (o *EngineObserver) MessageDropped(reason string) {
	m := o.m
	switch reason {
	case ext.DropSlowSubscriber:
		m.dropClientWrites.Add(1)
	case ext.DropExpired:
		m.dropExpired.Add(1)
	case ext.DropTooLarge:
		m.dropTooLarge.Add(1)
	case ext.DropQueueFull:
		m.dropQueueFull.Add(1)
	case ext.DropQueuedBytes:
		m.dropQueuedBytes.Add(1)
	case ext.DropQoS0Offline:
		m.dropQoS.Add(1)
	default: // ext.DropInflightQuota and any reason added later
		m.dropInflight.Add(1)
	}
}

// LimitRefused counts a request refused by a security bound.
func (o *EngineObserver) LimitRefused(limit string) { o.m.LimitRefused(limit) }
