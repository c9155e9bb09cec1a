package engine

import (
	"errors"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	for name, mut := range map[string]func(*Config){
		"max_qos":       func(c *Config) { c.MaxQoS = 3 },
		"keepalive":     func(c *Config) { c.MinKeepalive = c.MaxKeepalive + time.Second },
		"recv max":      func(c *Config) { c.ReceiveMaximum = 0 },
		"inflight":      func(c *Config) { c.MaxInflight = 0 },
		"packet size":   func(c *Config) { c.MaxPacketSize = 10 },
		"queued bytes":  func(c *Config) { c.MaxQueuedBytes = -1 },
		"slow wait":     func(c *Config) { c.SlowSubscriberWait = -1 },
		"session exp":   func(c *Config) { c.MaxSessionExpiry = 1500 * time.Millisecond },
		"message exp":   func(c *Config) { c.MaxMessageExpiry = -time.Second },
		"sweep":         func(c *Config) { c.SweepInterval = 0 },
		"min keepalive": func(c *Config) { c.MinKeepalive = 0 },
	} {
		c := DefaultConfig()
		mut(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: Validate = %v, want ErrInvalidConfig", name, err)
		}
	}
}
