package storage

import (
	"fmt"
	"time"
)

// Config configures the storage hook. In the imqttd config file it lives under
// `storage:`.
type Config struct {
	// QueueMaxMessages bounds one persistent session's durable queue by count.
	// A message for a session whose queue is full is not enqueued for that
	// session (drop-new, see doc.go "Queue bound"); other targets still get it.
	QueueMaxMessages int `yaml:"queue_max_messages"`
	// QueueMaxBytes bounds one session's queue by payload+topic bytes.
	QueueMaxBytes int64 `yaml:"queue_max_bytes"`
	// Retention is the longest a queued message is kept; it becomes the
	// message's expiry unless the publisher asked for a shorter one.
	Retention time.Duration `yaml:"retention"`
	// MaxInflight caps the pump's unacknowledged QoS 1/2 messages per client,
	// below the client's Receive Maximum (MQTT 5) or alone (3.1.1).
	MaxInflight int `yaml:"max_inflight"`
	// SweepInterval is how often the leader looks for expired sessions.
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// ApplyTimeout bounds one durable write made from a hook.
	ApplyTimeout time.Duration `yaml:"apply_timeout"`
}

// DefaultConfig returns the defaults: 10000 messages / 64 MiB per queue, 72 h
// retention, 100 in flight, a sweep every 10 s, 10 s apply timeout.
func DefaultConfig() Config {
	return Config{
		QueueMaxMessages: 10000,
		QueueMaxBytes:    64 << 20,
		Retention:        72 * time.Hour,
		MaxInflight:      100,
		SweepInterval:    10 * time.Second,
		ApplyTimeout:     10 * time.Second,
	}
}

// Validate checks every field; errors wrap ErrInvalidConfig and name the key
// path (storage.<key>) and the value.
func (c Config) Validate() error {
	bad := func(key string, v any, why string) error {
		return fmt.Errorf("%w: storage.%s: %v: %s", ErrInvalidConfig, key, v, why)
	}
	switch {
	case c.QueueMaxMessages < 1:
		return bad("queue_max_messages", c.QueueMaxMessages, "must be >= 1")
	case c.QueueMaxBytes < 1:
		return bad("queue_max_bytes", c.QueueMaxBytes, "must be >= 1")
	case c.Retention < time.Second:
		return bad("retention", c.Retention, "must be >= 1s")
	case c.MaxInflight < 1 || c.MaxInflight > 65535:
		return bad("max_inflight", c.MaxInflight, "must be in [1, 65535]")
	case c.SweepInterval < 10*time.Millisecond:
		return bad("sweep_interval", c.SweepInterval, "must be >= 10ms")
	case c.ApplyTimeout <= 0:
		return bad("apply_timeout", c.ApplyTimeout, "must be > 0")
	}
	return nil
}
