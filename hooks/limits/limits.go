package limits

import (
	"fmt"
	"time"
)

// Config holds the keepalive bounds.
type Config struct {
	// MinKeepalive is the smallest keepalive the server grants (v5) or enforces (v3).
	MinKeepalive time.Duration `yaml:"min_keepalive"`
	// MaxKeepalive caps the keepalive; 0-keepalive clients get this value too.
	MaxKeepalive time.Duration `yaml:"max_keepalive"`
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
