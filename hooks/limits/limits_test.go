package limits

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		min, max time.Duration
		ok       bool
	}{
		{5 * time.Second, 10 * time.Minute, true},
		{time.Second, time.Second, true},
		{0, time.Minute, false},
		{time.Second, 0, false},
		{1500 * time.Millisecond, time.Minute, false},
		{time.Minute, time.Second, false},
		{time.Second, 65536 * time.Second, false},
	}
	for _, c := range cases {
		err := Config{MinKeepalive: c.min, MaxKeepalive: c.max}.Validate()
		if (err == nil) != c.ok {
			t.Errorf("min %s max %s: err %v, want ok=%v", c.min, c.max, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("error %v does not wrap ErrInvalidConfig", err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLevelsConfigValidate(t *testing.T) {
	if err := DefaultLevelsConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, -1, maxTopicLevels + 1} {
		err := LevelsConfig{MaxTopicLevels: n}.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "max_topic_levels") {
			t.Errorf("max_topic_levels %d: %v", n, err)
		}
	}
}

func TestFlowConfigValidate(t *testing.T) {
	if err := DefaultFlowConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cfg FlowConfig
		key string
	}{
		{FlowConfig{MaxWait: -time.Second}, "slow_subscriber_wait"},
		{FlowConfig{MaxQueuedBytes: -1}, "max_queued_bytes"},
	} {
		err := c.cfg.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%+v: %v, want ErrInvalidConfig naming %s", c.cfg, err, c.key)
		}
	}
	if err := (FlowConfig{}).Validate(); err != nil {
		t.Errorf("zero (no wait, no bound): %v", err)
	}
}
