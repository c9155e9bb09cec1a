package acl

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/hooks/ext"
)

// TestAllowMapsEngineAccess checks each engine access kind is judged with the
// matching rule access word, the subscribe-only and read-only cases included,
// and that an unknown kind is denied.
func TestAllowMapsEngineAccess(t *testing.T) {
	h, err := New(Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap, Rules: []string{
		"user alice",
		"topic write a/out",
		"topic read a/in",
		"topic subscribe a/sub/#",
		"pattern readwrite dev/%c/#",
	}}, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	alice := &ext.Client{ID: "phone", Username: "alice"}
	anon := &ext.Client{ID: "x"}
	cases := []struct {
		c     *ext.Client
		topic string
		a     ext.Access
		want  bool
	}{
		{alice, "a/out", ext.AccessPublish, true},
		{alice, "a/out", ext.AccessDeliver, false},
		{alice, "a/out", ext.AccessSubscribe, false},
		{alice, "a/in", ext.AccessDeliver, true},
		{alice, "a/in", ext.AccessSubscribe, true}, // read implies subscribe (mosquitto)
		{alice, "a/in", ext.AccessPublish, false},
		{alice, "a/sub/#", ext.AccessSubscribe, true},
		{alice, "a/sub/x", ext.AccessDeliver, false}, // subscribe-only grants no read
		{alice, "dev/phone/t", ext.AccessPublish, true},
		{alice, "dev/other/t", ext.AccessPublish, false},
		{anon, "dev/x/t", ext.AccessDeliver, true},
		{anon, "a/in", ext.AccessDeliver, false},
		{alice, "$SYS/broker/x", ext.AccessPublish, false},
		{alice, "a/out", ext.Access(0), false},
		{alice, "a/out", ext.Access(99), false},
	}
	for _, tc := range cases {
		if got := h.Allow(tc.c, tc.topic, tc.a); got != tc.want {
			t.Errorf("Allow(%q, %q, %d) = %v, want %v", tc.c.Username, tc.topic, tc.a, got, tc.want)
		}
	}
}
