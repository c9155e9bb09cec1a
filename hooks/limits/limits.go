package limits

import (
	"fmt"
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
}

// New returns a hook for a validated config.
func New(cfg Config) (*Hook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Hook{
		min:    uint16(cfg.MinKeepalive / time.Second),
		max:    uint16(cfg.MaxKeepalive / time.Second),
		maxPkt: cfg.MaxPacketSize,
	}, nil
}

// ID names the hook.
func (h *Hook) ID() string { return "imqtt-limits" }

// Provides lists exactly the events the hook handles.
func (h *Hook) Provides(b byte) bool {
	return b == mqtt.OnConnect || b == mqtt.OnPacketEncode
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
