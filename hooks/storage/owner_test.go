package storage

import (
	"errors"
	"testing"
)

// TestOwnerFacts: the per-user count follows every registration and removal
// (connect, disconnect of a clean session, Discard, restart), SessionOwner
// reads the replicated record, and Discard refuses a connected session.
func TestOwnerFacts(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir, DefaultConfig())
	h := b.hook
	s1, _ := connect(t, b.addr, "s1", false, 3600)
	connect(t, b.addr, "s2", false, 3600)
	connect(t, b.addr, "clean", true, 0)
	if n := h.SessionsOf(""); n != 2 {
		t.Fatalf("SessionsOf(anonymous) = %d, want 2", n)
	}
	if o, ok, err := h.SessionOwner("s1"); err != nil || !ok || o.User != "" || !o.Connected {
		t.Fatalf("SessionOwner(s1) = %+v %v %v, want anonymous, connected", o, ok, err)
	}
	if _, ok, err := h.SessionOwner("clean"); err != nil || ok {
		t.Fatalf("SessionOwner(clean) = %v %v, want none", ok, err)
	}
	if err := h.Discard("s2"); !errors.Is(err, ErrSessionConnected) {
		t.Fatalf("Discard of a connected session: %v", err)
	}
	b.disconnect(t, s1, "s1")
	waitFor(t, "s1 offline", func() bool {
		o, ok, _ := h.SessionOwner("s1")
		return ok && !o.Connected
	})
	if err := h.Discard("s1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := h.SessionOwner("s1"); ok || h.Owns("s1") || h.SessionsOf("") != 1 {
		t.Fatalf("after Discard: stored %v, owned %v, count %d", ok, h.Owns("s1"), h.SessionsOf(""))
	}
	b.stop()
	b = startBroker(t, dir, DefaultConfig())
	if n := b.hook.SessionsOf(""); n != 1 {
		t.Fatalf("after restart SessionsOf = %d, want 1", n)
	}
}
