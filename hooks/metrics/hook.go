package metrics

import (
	"fmt"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// HookID is the mochi hook id of Hook.
const HookID = "imqtt-metrics"

// Hook is the mochi hook that feeds a *Metrics. It only counts: it never changes,
// rejects or delays a packet, and it never provides OnConnectAuthenticate or
// OnACLCheck.
type Hook struct {
	mqtt.HookBase
	m *Metrics
}

// NewHook returns a hook counting into m. Add it with server.AddHook(h, nil),
// before any hook that may reject packets in OnPacketRead.
func NewHook(m *Metrics) *Hook {
	return &Hook{m: m}
}

// ID implements mqtt.Hook.
func (h *Hook) ID() string {
	return HookID
}

// Provides implements mqtt.Hook; mochi calls it for every event, so it is a switch.
func (h *Hook) Provides(b byte) bool {
	switch b {
	case mqtt.OnSessionEstablished,
		mqtt.OnDisconnect,
		mqtt.OnPacketRead,
		mqtt.OnPacketSent,
		mqtt.OnPublishDropped,
		mqtt.OnQosDropped,
		mqtt.OnPacketIDExhausted:
		return true
	}
	return false
}

// Init implements mqtt.Hook. The hook takes no config: it returns ErrInvalidConfig
// for a non-nil one and ErrNilMetrics when built with a nil *Metrics.
func (h *Hook) Init(config any) error {
	if config != nil {
		return fmt.Errorf("%w: got %T", ErrInvalidConfig, config)
	}
	if h.m == nil {
		return ErrNilMetrics
	}
	return nil
}

// OnSessionEstablished counts an established session on its listener.
func (h *Hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	lm := h.m.listener(cl.Net.Listener)
	if _, loaded := h.m.sessions.LoadOrStore(cl, lm); loaded {
		return // mochi establishes a client once; never count it twice
	}
	lm.established.Inc()
	lm.active.Inc()
}

// OnDisconnect ends a session counted by OnSessionEstablished. Clients it never saw
// established (sessions restored from storage) are ignored.
func (h *Hook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	if v, ok := h.m.sessions.LoadAndDelete(cl); ok {
		v.(*listenerMetrics).active.Dec()
	}
}

// OnPacketRead counts a decoded inbound packet. It returns pk unchanged.
func (h *Hook) OnPacketRead(_ *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	m := h.m
	t := pk.FixedHeader.Type & 0x0f
	if c := m.packetsReceived[t]; c != nil {
		c.Inc()
	}
	m.bytesReceived.Add(float64(wireSize(pk.FixedHeader.Remaining)))
	if t == packets.Publish && pk.FixedHeader.Qos < 3 {
		m.messagesReceived[pk.FixedHeader.Qos].Inc()
	}
	return pk, nil
}

// OnPacketSent counts a packet written to a client. b is not used: mochi may pass
// an empty slice (its buffer was drained by WriteTo); the remaining length set by
// the encoder gives the size.
func (h *Hook) OnPacketSent(_ *mqtt.Client, pk packets.Packet, _ []byte) {
	m := h.m
	t := pk.FixedHeader.Type & 0x0f
	if c := m.packetsSent[t]; c != nil {
		c.Inc()
	}
	m.bytesSent.Add(float64(wireSize(pk.FixedHeader.Remaining)))
	if t == packets.Publish && pk.FixedHeader.Qos < 3 {
		m.messagesSent[pk.FixedHeader.Qos].Inc()
	}
}

// OnPublishDropped counts a message dropped because the subscriber's outbound
// queue was full.
func (h *Hook) OnPublishDropped(_ *mqtt.Client, _ packets.Packet) {
	h.m.dropClientWrites.Add(1)
}

// OnPacketIDExhausted counts a delivery dropped for want of a free packet id.
func (h *Hook) OnPacketIDExhausted(_ *mqtt.Client, _ packets.Packet) {
	h.m.dropPacketIDsExhausted.Add(1)
}

// OnQosDropped counts an inflight message discarded by mochi.
//
// mochi's expiry sweep (Server.clearExpiredInflights) reports each expired message
// twice: first from Client.ClearExpiredInflights with the message, then with a bare
// packet carrying only the packet id (type 0). The bare one is skipped; the full
// one is classified as expired when its expiry (set by mochi from the message
// expiry interval or the server's maximum) has passed.
func (h *Hook) OnQosDropped(_ *mqtt.Client, pk packets.Packet) {
	if pk.FixedHeader.Type == 0 {
		return
	}
	if pk.Expiry > pk.Created && pk.Expiry < time.Now().Unix() {
		h.m.dropExpired.Add(1)
		return
	}
	h.m.dropQoS.Add(1)
}
