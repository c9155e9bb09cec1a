package im

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

type presenceMsg struct {
	User     string `json:"user"`
	Status   string `json:"status"`
	LastSeen int64  `json:"last_seen"`
	TS       int64  `json:"ts"`
}

func presenceOn(t *testing.T, h *harness, user string) []presenceMsg {
	t.Helper()
	var out []presenceMsg
	for _, d := range h.rec.on(presenceTopic(user)) {
		if !d.Retain || d.QoS != 1 {
			t.Fatalf("presence delivery %+v", d)
		}
		var p presenceMsg
		check(t, json.Unmarshal(d.Payload, &p))
		out = append(out, p)
	}
	return out
}

func TestPresenceEvents(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *Options) { c.MaxDevices = 2 })
	check(t, h.svc.Connected(dev("alice", "phone")))
	check(t, h.svc.Connected(dev("alice", "laptop")))
	check(t, h.svc.Connected(dev("alice", "laptop"))) // takeover: same device
	if err := h.svc.Connected(dev("alice", "tablet")); !errors.Is(err, ErrTooManyDevices) {
		t.Fatalf("third device: %v", err)
	}
	h.svc.Disconnected(dev("alice", "tablet")) // the refused one: no effect
	ps := presenceOn(t, h, "alice")
	if len(ps) != 1 || ps[0].Status != StatusOnline || ps[0].User != "alice" {
		t.Fatalf("after connects %+v", ps)
	}
	h.svc.Disconnected(dev("alice", "phone"))
	if len(presenceOn(t, h, "alice")) != 1 {
		t.Fatal("offline published while a device is still online")
	}
	h.clock.advance(time.Minute)
	h.svc.Disconnected(dev("alice", "laptop"))
	ps = presenceOn(t, h, "alice")
	if len(ps) != 2 || ps[1].Status != StatusOffline || ps[1].LastSeen != h.clock.ms.Load() {
		t.Fatalf("after disconnects %+v", ps)
	}
	h.svc.Disconnected(dev("alice", "laptop")) // twice: nothing more
	if len(presenceOn(t, h, "alice")) != 2 {
		t.Fatal("duplicate offline")
	}
	check(t, h.svc.Connected(dev("", "anon"))) // no im user: ignored
	if n := len(h.rec.take()); n != 2 {
		t.Fatalf("%d publishes", n)
	}
}

// TestACL: the built-in rules of the im/ tree, per presence policy.
func TestACL(t *testing.T) {
	for _, policy := range []string{PresenceShared, PresenceAll, PresenceNone} {
		t.Run(policy, func(t *testing.T) {
			h := newHarness(t, func(c *Config, _ *Options) { c.Presence = policy })
			h.send("alice", "bob", "1", "hi") // alice and bob share a direct conversation
			g := h.rpc("carol", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"alice"}}, CodeSuccess)["group"].(string)
			shared := policy != PresenceNone
			everyone := policy == PresenceAll
			pub := []struct {
				topic string
				ok    bool
			}{
				{"im/send/user/bob", true},
				{"im/send/user/alice", true},
				{"im/send/group/" + g, true},
				{"im/send/group/x+y", false},
				{"im/send/user/", false},
				{"im/receipt/d:alice:bob", true},
				{"im/receipt/d:bob:alice", false},
				{"im/typing/g:" + g, true},
				{"im/rpc/history", true},
				{"im/rpc/rm-rf", false},
				{"im/u/alice/msg", false},
				{"im/u/bob/ack", false},
				{"im/presence/alice", false},
				{"im/notify/all", false},
				{"im", false},
				{"im/", false},
				{"other/topic", false},
			}
			for _, c := range pub {
				if got := h.svc.CanPublish("alice", c.topic); got != c.ok {
					t.Errorf("CanPublish(alice, %q) = %v", c.topic, got)
				}
			}
			sub := []struct {
				filter string
				ok     bool
			}{
				{"im/u/alice/#", true},
				{"im/u/alice/msg", true},
				{"im/u/alice/+", true},
				{"$share/g1/im/u/alice/msg", true},
				{"im/u/bob/#", false},
				{"im/u/+/msg", false},
				{"im/u/#", false},
				{"im/#", false},
				{"im/+/alice/msg", false},
				{"im/notify/all", true},
				{"im/notify/#", false},
				{"im/presence/alice", true},
				{"im/presence/bob", shared},    // direct conversation
				{"im/presence/carol", shared},  // group
				{"im/presence/dave", everyone}, // nothing in common
				{"im/presence/+", shared},
				{"im/presence/#", shared},
				{"im/presence/bob/x", false},
				{"im/send/user/bob", false},
				{"im/rpc/#", false},
				{"$share/g1/im/u/bob/msg", false},
			}
			for _, c := range sub {
				if got := h.svc.CanSubscribe("alice", c.filter); got != c.ok {
					t.Errorf("CanSubscribe(alice, %q) = %v", c.filter, got)
				}
			}
			recv := []struct {
				topic string
				ok    bool
			}{
				{"im/u/alice/msg", true},
				{"im/u/alice/replies/1", true},
				{"im/u/alice", false},
				{"im/u/bob/msg", false},
				{"im/u/alicex/msg", false},
				{"im/notify/all", true},
				{"im/presence/alice", true},
				{"im/presence/bob", shared},
				{"im/presence/carol", shared},
				{"im/presence/dave", everyone},
				{"im/send/user/alice", false},
			}
			for _, c := range recv {
				if got := h.svc.CanReceive("alice", c.topic); got != c.ok {
					t.Errorf("CanReceive(alice, %q) = %v", c.topic, got)
				}
			}
			for _, f := range []func(string, string) bool{h.svc.CanPublish, h.svc.CanSubscribe, h.svc.CanReceive} {
				if f("", "im/u//msg") || f("a/b", "im/u/a/b/msg") {
					t.Error("invalid user allowed")
				}
			}
		})
	}
}
