package limits

import (
	"errors"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
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
}

func TestEffectiveKeepalive(t *testing.T) {
	h, err := New(Config{MinKeepalive: 5 * time.Second, MaxKeepalive: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in, want uint16
		changed  bool
	}{{0, 60, true}, {61, 60, true}, {60, 60, false}, {5, 5, false}, {4, 5, true}, {30, 30, false}, {65535, 60, true}}
	for _, c := range cases {
		got, changed := h.Effective(c.in)
		if got != c.want || changed != c.changed {
			t.Errorf("Effective(%d) = %d,%v want %d,%v", c.in, got, changed, c.want, c.changed)
		}
	}
}

func TestProvidesNoSecurityDecision(t *testing.T) {
	h, _ := New(DefaultConfig())
	for _, ev := range []byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnSubscribe} {
		if h.Provides(ev) {
			t.Errorf("limits hook provides event %d", ev)
		}
	}
	for _, ev := range []byte{mqtt.OnConnect, mqtt.OnPacketRead, mqtt.OnPacketEncode} {
		if !h.Provides(ev) {
			t.Errorf("limits hook does not provide event %d", ev)
		}
	}
}
