package push

import (
	"fmt"
	"net/url"
	"time"
)

// Config is `im.push`.
type Config struct {
	// URL receives the events (http or https); "" turns push off.
	URL string `yaml:"url"`
	// Secret is the HMAC-SHA256 key of the signature. Never logged.
	Secret string `yaml:"secret"`
	// Timeout bounds one attempt.
	Timeout time.Duration `yaml:"timeout"`
	// Queue bounds the events waiting to be sent.
	Queue int `yaml:"queue"`
	// Workers is the number of concurrent senders.
	Workers int `yaml:"workers"`
	// MaxAttempts bounds the attempts per event.
	MaxAttempts int `yaml:"max_attempts"`
	// BackoffMin and BackoffMax bound the wait before a retry (doubling, jittered).
	BackoffMin time.Duration `yaml:"backoff_min"`
	BackoffMax time.Duration `yaml:"backoff_max"`
}

// DefaultConfig returns push off, 5 s timeout, a queue of 10,000, 4 workers, 6
// attempts, backoff 200 ms..30 s.
func DefaultConfig() Config {
	return Config{Timeout: 5 * time.Second, Queue: 10_000, Workers: 4, MaxAttempts: 6,
		BackoffMin: 200 * time.Millisecond, BackoffMax: 30 * time.Second}
}

// Validate checks the config; errors name the key (never the secret's value).
func (c Config) Validate() error {
	bad := func(key string, v any, why string) error {
		return fmt.Errorf("%w: %s: %v: %s", ErrInvalidConfig, key, v, why)
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("url", c.URL, "must be an http or https URL")
		}
		if c.Secret == "" {
			return fmt.Errorf("%w: secret: must be set when url is", ErrInvalidConfig)
		}
	}
	switch {
	case c.Timeout < 10*time.Millisecond || c.Timeout > 5*time.Minute:
		return bad("timeout", c.Timeout, "must be 10ms..5m")
	case c.Queue < 1 || c.Queue > 10_000_000:
		return bad("queue", c.Queue, "must be 1..10000000")
	case c.Workers < 1 || c.Workers > 1000:
		return bad("workers", c.Workers, "must be 1..1000")
	case c.MaxAttempts < 1 || c.MaxAttempts > 100:
		return bad("max_attempts", c.MaxAttempts, "must be 1..100")
	case c.BackoffMin < time.Millisecond:
		return bad("backoff_min", c.BackoffMin, "must be at least 1ms")
	case c.BackoffMax < c.BackoffMin:
		return bad("backoff_max", c.BackoffMax, "must be at least backoff_min")
	}
	return nil
}
