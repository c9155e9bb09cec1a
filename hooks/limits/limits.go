package limits

import (
	"fmt"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Config holds the per-connection limits the hook enforces.
type Config struct {
	// MinKeepalive is the smallest keepalive the server grants (v5) or enforces (v3).
	MinKeepalive time.Duration `yaml:"min_keepalive"`
	// MaxKeepalive caps the keepalive; 0-keepalive clients get this value too.
	MaxKeepalive time.Duration `yaml:"max_keepalive"`
	// MaxPacketSize is advertised in CONNACK (bytes); 0 advertises nothing.
	MaxPacketSize uint32 `yaml:"-"`
	// TopicAliasMaximum is the server's inbound topic alias maximum (mqtt.topic_alias_maximum).
	TopicAliasMaximum uint16 `yaml:"-"`
}

// DefaultConfig returns the secure defaults: keepalive within [5 s, 10 min].
func DefaultConfig() Config {
	return Config{MinKeepalive: 5 * time.Second, MaxKeepalive: 10 * time.Minute}
}

// Validate checks the bounds. Keepalive is whole seconds, 1..65535.
func (c Config) Validate() error {
	if c.MinKeepalive < time.Second || c.MinKeepalive%time.Second != 0 || c.MinKeepalive > 65535*time.Second {
		return fmt.Errorf("min_keepalive: %s: must be whole seconds in [1s, 65535s]: %w", c.MinKeepalive, ErrInvalidConfig)
	}
	if c.MaxKeepalive < time.Second || c.MaxKeepalive%time.Second != 0 || c.MaxKeepalive > 65535*time.Second {
		return fmt.Errorf("max_keepalive: %s: must be whole seconds in [1s, 65535s]: %w", c.MaxKeepalive, ErrInvalidConfig)
	}
	if c.MinKeepalive > c.MaxKeepalive {
		return fmt.Errorf("min_keepalive: %s is above max_keepalive %s: %w", c.MinKeepalive, c.MaxKeepalive, ErrInvalidConfig)
	}
	return nil
}

// Hook enforces Config on every connection.
type Hook struct {
	mqtt.HookBase
	min, max uint16
	maxPkt   uint32
	maxAlias uint16
}

// New returns a hook for a validated config.
func New(cfg Config) (*Hook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Hook{
		min:      uint16(cfg.MinKeepalive / time.Second),
		max:      uint16(cfg.MaxKeepalive / time.Second),
		maxPkt:   cfg.MaxPacketSize,
		maxAlias: cfg.TopicAliasMaximum,
	}, nil
}

// ID names the hook.
func (h *Hook) ID() string { return "imqtt-limits" }

// Provides lists exactly the events the hook handles.
func (h *Hook) Provides(b byte) bool {
	return b == mqtt.OnConnect || b == mqtt.OnPacketEncode || b == mqtt.OnPacketRead
}

// Init accepts no runtime config (it is given to New).
func (h *Hook) Init(any) error { return nil }

// Effective returns the keepalive the server applies to a requested value, and
// whether it differs from the request.
func (h *Hook) Effective(requested uint16) (uint16, bool) {
	switch {
	case requested == 0 || requested > h.max:
		return h.max, true
	case requested < h.min:
		return h.min, true
	}
	return requested, false
}

// OnConnect bounds the keepalive before mochi arms the read deadline.
func (h *Hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	ka, changed := h.Effective(pk.Connect.Keepalive)
	if !changed {
		return nil
	}
	cl.State.Keepalive = ka
	if cl.Properties.ProtocolVersion == 5 {
		cl.State.ServerKeepalive = true // [MQTT-3.2.2-21] CONNACK carries Server Keep Alive
	}
	return nil
}

// OnPacketEncode advertises the Maximum Packet Size in v5 CONNACKs.
func (h *Hook) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type == packets.Connack && h.maxPkt > 0 && pk.ProtocolVersion == 5 && pk.ReasonCode < 0x80 {
		pk.Properties.MaximumPacketSize = h.maxPkt // [MQTT-3.2.2-15]
	}
	return pk
}

// compile-time check that the hook satisfies mochi's interface.
var _ mqtt.Hook = (*Hook)(nil)

// OnPacketRead resolves an inbound MQTT 5 topic alias before mochi checks the ACL:
// mochi v2.7.9 checks the ACL on the packet's topic name first and resolves the
// alias afterwards, so a PUBLISH that carries only an alias would be judged as the
// empty topic. Resolving here makes the ACL see the real topic; mochi's own later
// resolution then stores the same mapping again. Unknown or out-of-range aliases
// are left for mochi's validation [MQTT-3.3.2-7..12].
func (h *Hook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Type != packets.Publish {
		return pk, nil
	}
	if h.refuseReservedPublish(cl, pk) || !pk.Properties.TopicAliasFlag || pk.TopicName != "" {
		return pk, nil
	}
	alias := pk.Properties.TopicAlias
	if alias == 0 || alias > h.maxAlias {
		return pk, nil
	}
	if topic := cl.State.TopicAliases.Inbound.Set(alias, ""); topic != "" {
		pk.TopicName = topic
	}
	return pk, nil
}

// refuseReservedPublish answers a PUBLISH that mochi would drop without any
// response: mochi v2.7.9 silently discards PUBLISHes to $SYS/... and $share/...
// topic names (IsValidFilter(topic, true) is false) and never acks them, so a QoS 1
// or 2 publisher waits forever. A v5 publisher gets PUBACK/PUBREC 0x87 (not
// authorized); a v3.1.1 client cannot be told, so it is disconnected
// [MQTT-3.3.5-2]. Returns true when it handled the packet.
func (h *Hook) refuseReservedPublish(cl *mqtt.Client, pk packets.Packet) bool {
	if pk.TopicName == "" || mqtt.IsValidFilter(pk.TopicName, true) || strings.ContainsAny(pk.TopicName, "+#") {
		return false // valid, alias-only, or a wildcard topic (mochi answers 0x90/closes)
	}
	if pk.FixedHeader.Qos == 0 {
		return true // nothing to answer; mochi drops it
	}
	if cl.Properties.ProtocolVersion < 5 {
		cl.Stop(packets.ErrNotAuthorized)
		return true
	}
	ack := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Puback},
		PacketID:    pk.PacketID,
		ReasonCode:  packets.ErrNotAuthorized.Code,
	}
	if pk.FixedHeader.Qos == 2 {
		ack.FixedHeader.Type = packets.Pubrec
	}
	_ = cl.WritePacket(ack)
	return true
}
