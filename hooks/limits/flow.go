package limits

import (
	"fmt"
	"time"
)

// FlowConfig is the engine's back-pressure (limits.slow_subscriber_wait,
// limits.max_queued_bytes).
type FlowConfig struct {
	// MaxWait is how long a publisher of a full subscriber stops being read
	// before the subscriber is marked slow (limits.slow_subscriber_wait); 0
	// marks it slow at once.
	MaxWait time.Duration `yaml:"slow_subscriber_wait"`
	// MaxQueuedBytes bounds the bytes pending to one client
	// (limits.max_queued_bytes); 0 turns the bound off. Nothing is allocated
	// for it: it is a cap.
	MaxQueuedBytes int64 `yaml:"max_queued_bytes"`
}

// DefaultFlowConfig waits up to 2 s for a full subscriber and bounds a
// client's pending bytes at 8 MiB.
func DefaultFlowConfig() FlowConfig {
	return FlowConfig{MaxWait: 2 * time.Second, MaxQueuedBytes: 8 << 20}
}

// Validate refuses a negative wait or bound.
func (c FlowConfig) Validate() error {
	if c.MaxWait < 0 {
		return fmt.Errorf("slow_subscriber_wait: %s: must not be negative: %w", c.MaxWait, ErrInvalidConfig)
	}
	if c.MaxQueuedBytes < 0 {
		return fmt.Errorf("max_queued_bytes: %d: must not be negative (0: no bound): %w", c.MaxQueuedBytes, ErrInvalidConfig)
	}
	return nil
}
