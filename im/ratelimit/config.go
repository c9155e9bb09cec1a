package ratelimit

import "fmt"

// Config is `im.rate_limit`.
type Config struct {
	// MessagesPerSecond is the sustained rate per user; 0 disables the limit.
	MessagesPerSecond float64 `yaml:"messages_per_second"`
	// Burst is how many requests a user may make at once.
	Burst int `yaml:"burst"`
	// MaxKeys bounds the number of users tracked at once.
	MaxKeys int `yaml:"max_keys"`
}

// DefaultConfig returns 20 messages/s, bursts of 40, 100,000 users tracked.
func DefaultConfig() Config {
	return Config{MessagesPerSecond: 20, Burst: 40, MaxKeys: 100_000}
}

// Validate checks the config; errors name the key.
func (c Config) Validate() error {
	if c.MessagesPerSecond < 0 || c.MessagesPerSecond > 1e6 {
		return fmt.Errorf("%w: messages_per_second: %v: must be 0 (off) to 1000000", ErrInvalidConfig, c.MessagesPerSecond)
	}
	if c.MessagesPerSecond > 0 && (c.Burst < 1 || c.Burst > 1e6) {
		return fmt.Errorf("%w: burst: %d: must be 1 to 1000000", ErrInvalidConfig, c.Burst)
	}
	if c.MaxKeys < 1 || c.MaxKeys > 100_000_000 {
		return fmt.Errorf("%w: max_keys: %d: must be 1 to 100000000", ErrInvalidConfig, c.MaxKeys)
	}
	return nil
}
