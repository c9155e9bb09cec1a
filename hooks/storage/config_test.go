package storage

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"queue messages", func(c *Config) { c.QueueMaxMessages = 0 }, "storage.queue_max_messages: 0"},
		{"queue bytes", func(c *Config) { c.QueueMaxBytes = -1 }, "storage.queue_max_bytes: -1"},
		{"retention", func(c *Config) { c.Retention = time.Millisecond }, "storage.retention: 1ms"},
		{"inflight low", func(c *Config) { c.MaxInflight = 0 }, "storage.max_inflight: 0"},
		{"inflight high", func(c *Config) { c.MaxInflight = 70000 }, "storage.max_inflight: 70000"},
		{"sweep", func(c *Config) { c.SweepInterval = 0 }, "storage.sweep_interval: 0s"},
		{"apply timeout", func(c *Config) { c.ApplyTimeout = 0 }, "storage.apply_timeout: 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNewRequiresOptions(t *testing.T) {
	if _, err := NewEngineStore(DefaultConfig(), EngineOptions{}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("got %v", err)
	}
}
