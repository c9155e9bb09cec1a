package im

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/imqtt/imqtt/persist"
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

// waitPresence polls until user's presence publishes number n (presence is
// published by a goroutine after the record write is applied), then checks
// that no more arrive for a moment.
func waitPresence(t *testing.T, h *harness, user string, n int) []presenceMsg {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ps := presenceOn(t, h, user)
		if len(ps) == n {
			time.Sleep(100 * time.Millisecond)
			if ps = presenceOn(t, h, user); len(ps) != n {
				t.Fatalf("%d presence publishes for %s, want %d: %+v", len(ps), user, n, ps)
			}
			return ps
		}
		if len(ps) > n || time.Now().After(deadline) {
			t.Fatalf("%d presence publishes for %s, want %d: %+v", len(ps), user, n, ps)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
	ps := waitPresence(t, h, "alice", 1)
	if ps[0].Status != StatusOnline || ps[0].User != "alice" {
		t.Fatalf("after connects %+v", ps)
	}
	h.svc.Disconnected(dev("alice", "phone"))
	waitPresence(t, h, "alice", 1) // a device is still online: nothing
	h.clock.advance(time.Minute)
	h.svc.Disconnected(dev("alice", "laptop"))
	ps = waitPresence(t, h, "alice", 2)
	if ps[1].Status != StatusOffline || ps[1].LastSeen != h.clock.ms.Load() {
		t.Fatalf("after disconnects %+v", ps)
	}
	h.svc.Disconnected(dev("alice", "laptop")) // twice: nothing more
	waitPresence(t, h, "alice", 2)
	check(t, h.svc.Connected(dev("", "anon"))) // no im user: ignored
	if n := len(h.rec.take()); n != 2 {
		t.Fatalf("%d publishes", n)
	}
}

// TestPresenceAcrossNodes: the presence records of two nodes (written here
// under two node names, as two nodes would through raft) make one status: a
// user stays online while any current member node has a device; a node that
// is no longer a member does not count; a restarted node clears its records.
func TestPresenceAcrossNodes(t *testing.T) {
	members := []string{"n1", "n2"}
	h := newHarness(t, func(_ *Config, o *Options) {
		o.NodeName = "n1"
		o.Members = func() []string { return members }
	})
	check(t, h.svc.Connected(dev("bob", "phone"))) // on n1
	waitPresence(t, h, "bob", 1)
	// bob's laptop on n2: its record, as n2 would write it.
	h.write(t, persist.PutRawOp(presentKey("bob", "n2"), []byte("1"), 0))
	h.svc.Disconnected(dev("bob", "phone")) // n1 loses its device: still online on n2
	ps := waitPresence(t, h, "bob", 1)
	if ps[0].Status != StatusOnline {
		t.Fatalf("%+v", ps)
	}
	if !h.svc.onlineAnywhere("bob") {
		t.Fatal("bob not online anywhere")
	}
	members = []string{"n1"} // n2 removed: its record no longer counts
	h.write(t, persist.PutRawOp(presentKey("bob", "n2"), []byte("2"), 0))
	ps = waitPresence(t, h, "bob", 2)
	if ps[1].Status != StatusOffline {
		t.Fatalf("%+v", ps)
	}
	// A restart of n1 clears what n1 left behind.
	check(t, h.svc.Connected(dev("carol", "phone")))
	waitPresence(t, h, "carol", 1)
	h.close()
	h.open()
	if h.svc.onlineAnywhere("carol") {
		t.Fatal("carol still online after n1 restarted")
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
				{"im/send/group/x+y", true},
				{"im/send/user/", true},
				{"im/receipt/d:alice:bob", true},
				{"im/receipt/d:bob:alice", true},
				{"im/typing/g:" + g, true},
				{"im/rpc/history", true},
				{"im/rpc/rm-rf", true},
				{"im/u/alice/msg", false},
				{"im/u/bob/ack", false},
				{"im/presence/alice", false},
				{"im/notify/all", false},
				{"im", true}, // Handle answers 0x90 (TestBadTopicAnswered)
				{"im/", true},
				{"im/u", false},
				{"im/presence", false},
				{"im/notify/x", false},
				{"$share/g/im/send/user/bob", false},
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
