//go:build crash

package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestClusterPresence: presence is one status for the whole cluster. bob has
// a device on n2 and one on n3; alice (on n1) sees him online, still online
// when the n2 device leaves, and offline with last_seen only when the n3
// device leaves too.
func TestClusterPresence(t *testing.T) {
	lc := newLossCluster(t)
	alice := imConnect(t, lc.nodes[0], "alice", "alice-pres")
	bob2 := imConnect(t, lc.nodes[1], "bob", "bob-n2")
	alice.send(t, "im/send/user/bob", "p1", "hi") // a shared conversation: presence visible
	waitSynced(t, lc.nodes[:]...)
	alice.subscribe(t, "im/presence/bob", 0)
	status := func(within time.Duration) string {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case p := <-alice.msgs:
				if p.Topic == "im/presence/bob" {
					var m struct{ Status string }
					if err := json.Unmarshal(p.Payload, &m); err != nil {
						t.Fatalf("presence %q: %v", p.Payload, err)
					}
					return m.Status
				}
			case <-deadline:
				return ""
			}
		}
	}
	if s := status(10 * time.Second); s != "online" {
		t.Fatalf("bob's presence %q, want online", s)
	}
	bob3 := imConnect(t, lc.nodes[2], "bob", "bob-n3")
	waitSynced(t, lc.nodes[:]...)
	_ = bob2.Disconnect(&paho.Disconnect{})
	if s := status(2 * time.Second); s != "" {
		t.Fatalf("bob shown %q while his n3 device is connected", s)
	}
	_ = bob3.Disconnect(&paho.Disconnect{})
	if s := status(10 * time.Second); s != "offline" {
		t.Fatalf("bob's presence %q after his last device left, want offline", s)
	}
}
