package storage

import (
	"fmt"
	"testing"
)

// A shared group with a clean and a persistent member: mochi and the hook pick
// the same member for each publish, so every message arrives exactly once.
func TestSharedGroupMixedMembers(t *testing.T) {
	b := startBroker(t, t.TempDir(), DefaultConfig())
	clean, rc := connect(t, b.addr, "m-clean", true, 0)
	subscribe(t, clean, "$share/g/s/t", 1)
	durable, rd := connect(t, b.addr, "m-durable", true, 3600)
	subscribe(t, durable, "$share/g/s/t", 1)
	pub := connectPub(t, b)
	const n = 40
	for i := range n {
		if _, err := publish(pub, "s/t", fmt.Sprint(i), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all shared messages", func() bool { return len(rc.snapshot())+len(rd.snapshot()) >= n })
	seen := map[string]int{}
	for _, m := range append(rc.snapshot(), rd.snapshot()...) {
		seen[string(m.Payload)]++
	}
	for i := range n {
		if seen[fmt.Sprint(i)] != 1 {
			t.Fatalf("message %d delivered %d times (clean %d, durable %d)", i, seen[fmt.Sprint(i)],
				len(rc.snapshot()), len(rd.snapshot()))
		}
	}
	if len(rc.snapshot()) == 0 || len(rd.snapshot()) == 0 {
		t.Logf("all messages went to one member (clean %d, durable %d)", len(rc.snapshot()), len(rd.snapshot()))
	}
}
