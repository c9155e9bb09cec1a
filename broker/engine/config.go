package engine

import (
	"fmt"
	"math"
	"time"
)

// Config is the protocol layer's configuration. The fields and defaults are
// today's keys of broker/config.go (mqtt.*, limits.*); cmd decodes YAML into
// broker.Config and the broker copies them here.
type Config struct {
	// mqtt.max_qos: the highest QoS accepted and granted.
	MaxQoS byte
	// mqtt.retain_available.
	RetainAvailable bool
	// mqtt.wildcard_subscriptions.
	WildcardSubscriptions bool
	// mqtt.shared_subscriptions.
	SharedSubscriptions bool
	// mqtt.subscription_identifiers.
	SubscriptionIdentifiers bool
	// mqtt.topic_alias_maximum: inbound aliases a v5 client may use; 0 = none.
	TopicAliasMaximum uint16
	// mqtt.outbound_topic_alias_maximum caps the aliases the server assigns
	// to the topics it sends one v5 client (alias.go): a connection's table
	// holds at most min(the client's Topic Alias Maximum, this) topics;
	// 0 = the server never sends aliases.
	OutboundTopicAliasMaximum uint16
	// mqtt.max_session_expiry caps a v5 Session Expiry Interval (and is the
	// expiry of a 3.1.1 persistent session).
	MaxSessionExpiry time.Duration
	// mqtt.max_message_expiry caps a Message Expiry Interval; 0 = no cap.
	MaxMessageExpiry time.Duration
	// mqtt.obscure_not_authorized: a refused SUBSCRIBE gets 0x80, not 0x87.
	ObscureNotAuthorized bool
	// limits.min_keepalive / limits.max_keepalive bound the keepalive; a v5
	// client asking for 0 or more than the max gets Server Keep Alive = max.
	MinKeepalive time.Duration
	MaxKeepalive time.Duration
	// limits.receive_maximum: unacknowledged inbound QoS 2 PUBLISHes a client
	// may have; more gets DISCONNECT 0x93.
	ReceiveMaximum uint16
	// limits.max_inflight caps outbound QoS 1/2 in flight to one client (the
	// client's own Receive Maximum may lower it).
	MaxInflight uint16
	// limits.max_packet_size: the largest inbound packet (CONNACK's Maximum
	// Packet Size).
	MaxPacketSize uint32
	// limits.max_queued_bytes bounds one session's queue of QoS 1/2 messages
	// waiting (offline, window full, slow); 0 = no bound.
	MaxQueuedBytes int64
	// limits.slow_subscriber_wait: how long a publisher is paused for a full
	// subscriber before the subscriber is treated as slow.
	SlowSubscriberWait time.Duration
	// limits.max_topic_levels: the most '/'-separated levels of a topic name
	// or filter (bounds.go); deeper ones are refused.
	MaxTopicLevels int
	// limits.max_subscriptions_per_client: the most filters one session
	// holds; each one past it gets SUBACK 0x97 (3.1.1: 0x80). 0 = no bound.
	MaxSubscriptionsPerClient int
	// session.max_per_user: the most persistent sessions one authenticated
	// user holds; a CONNECT for one more gets 0x97 (3.1.1: 3). 0 = no bound.
	MaxSessionsPerUser int
	// session.owner_mismatch: clean_start (true) discards another user's
	// offline session for a CONNECT with its client id; refuse (false, the
	// default) answers 0x87 (3.1.1: 5). A connected one is always refused.
	OwnerMismatchCleanStart bool
	// SweepInterval is the period of the engine's one ticker (session expiry,
	// delayed wills, message expiry in queues).
	SweepInterval time.Duration
	// mqtt.sys_interval: how often the $SYS topics are published (sys.go);
	// 0 = never.
	SysInterval time.Duration
	// Version is the broker's version, the payload of $SYS/broker/version.
	Version string
}

// DefaultConfig returns broker.DefaultConfig's values.
func DefaultConfig() Config {
	return Config{
		MaxQoS:                    2,
		RetainAvailable:           true,
		WildcardSubscriptions:     true,
		SharedSubscriptions:       true,
		SubscriptionIdentifiers:   true,
		TopicAliasMaximum:         65535,
		OutboundTopicAliasMaximum: 64,
		MaxSessionExpiry:          7 * 24 * time.Hour,
		MinKeepalive:              5 * time.Second,
		MaxKeepalive:              10 * time.Minute,
		ReceiveMaximum:            1024,
		MaxInflight:               8192,
		MaxPacketSize:             1 << 20,
		MaxQueuedBytes:            8 << 20,
		SlowSubscriberWait:        2 * time.Second,
		MaxTopicLevels:            200,
		MaxSubscriptionsPerClient: 1000,
		MaxSessionsPerUser:        100,
		// A quarter second: a deadline (rounded up to its second) is met
		// within 1.25 s at most (Paho test_will_delay allows 1 s over).
		SweepInterval: 250 * time.Millisecond,
	}
}

func invalid(field string, v any, why string) error {
	return fmt.Errorf("%s: %v: %s: %w", field, v, why, ErrInvalidConfig)
}

// Validate checks every field and the cross-field rules.
func (c Config) Validate() error {
	switch {
	case c.MaxQoS > 2:
		return invalid("mqtt.max_qos", c.MaxQoS, "must be 0, 1 or 2")
	case c.MaxSessionExpiry < 0 || c.MaxSessionExpiry > math.MaxUint32*time.Second || c.MaxSessionExpiry%time.Second != 0:
		return invalid("mqtt.max_session_expiry", c.MaxSessionExpiry, "must be whole seconds, 0..4294967295s")
	case c.MaxMessageExpiry < 0 || c.MaxMessageExpiry%time.Second != 0 || c.MaxMessageExpiry > math.MaxUint32*time.Second:
		return invalid("mqtt.max_message_expiry", c.MaxMessageExpiry, "must be whole seconds, 0 = no cap")
	case c.MinKeepalive < time.Second || c.MinKeepalive%time.Second != 0 || c.MinKeepalive > 65535*time.Second:
		return invalid("limits.min_keepalive", c.MinKeepalive, "must be whole seconds in [1s, 65535s]")
	case c.MaxKeepalive < time.Second || c.MaxKeepalive%time.Second != 0 || c.MaxKeepalive > 65535*time.Second:
		return invalid("limits.max_keepalive", c.MaxKeepalive, "must be whole seconds in [1s, 65535s]")
	case c.MinKeepalive > c.MaxKeepalive:
		return invalid("limits.min_keepalive", c.MinKeepalive, "must not exceed limits.max_keepalive")
	case c.ReceiveMaximum == 0:
		return invalid("limits.receive_maximum", c.ReceiveMaximum, "must be 1..65535")
	case c.MaxInflight == 0:
		return invalid("limits.max_inflight", c.MaxInflight, "must be 1..65535")
	case c.MaxPacketSize < 64 || c.MaxPacketSize > 256<<20:
		return invalid("limits.max_packet_size", c.MaxPacketSize, "must be between 64 and 268435456 bytes")
	case c.MaxQueuedBytes < 0:
		return invalid("limits.max_queued_bytes", c.MaxQueuedBytes, "must not be negative (0: no bound)")
	case c.SlowSubscriberWait < 0:
		return invalid("limits.slow_subscriber_wait", c.SlowSubscriberWait, "must not be negative")
	case c.MaxTopicLevels < 1 || c.MaxTopicLevels > 65536:
		return invalid("limits.max_topic_levels", c.MaxTopicLevels, "must be between 1 and 65536")
	case c.MaxSubscriptionsPerClient < 0:
		return invalid("limits.max_subscriptions_per_client", c.MaxSubscriptionsPerClient, "must be >= 0 (0: no bound)")
	case c.MaxSessionsPerUser < 0:
		return invalid("session.max_per_user", c.MaxSessionsPerUser, "must be >= 0 (0: no bound)")
	case c.SysInterval < 0:
		return invalid("mqtt.sys_interval", c.SysInterval, "must not be negative (0: no $SYS topics)")
	case c.SweepInterval < 10*time.Millisecond:
		return invalid("sweep_interval", c.SweepInterval, "must be at least 10ms")
	}
	return nil
}
