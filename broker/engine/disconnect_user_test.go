package engine

import (
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// TestDisconnectUser: every connection of the user ends (v5: DISCONNECT
// 0x98 first; 3.1.1: closed), another user's and an anonymous one stay, and
// nothing else changes.
func TestDisconnectUser(t *testing.T) {
	te := newTestEngine(t, nil)
	a1 := dialRaw(t, te.addr, 5)
	a1.connect("alice-phone", false, asUser("alice"))
	a2 := dialRaw(t, te.addr, 4)
	a2.connect("alice-laptop", true, asUser("alice"))
	b := dialRaw(t, te.addr, 5)
	b.connect("bob-phone", true, asUser("bob"))
	anon := dialRaw(t, te.addr, 5)
	anon.connect("anon", true, nil)

	if n := te.DisconnectUser("", packets.ErrAdministrativeAction.Code); n != 0 {
		t.Fatalf("DisconnectUser of the anonymous user closed %d", n)
	}
	if n := te.DisconnectUser("alice", packets.ErrAdministrativeAction.Code); n != 2 {
		t.Fatalf("DisconnectUser closed %d, want 2", n)
	}
	if d := a1.expect(packets.Disconnect); d.ReasonCode != 0x98 {
		t.Fatalf("v5 DISCONNECT reason 0x%02x, want 0x98", d.ReasonCode)
	}
	a1.expectClosed()
	a2.expectClosed()
	waitFor(t, "alice's devices gone", func() bool {
		_, p := te.Client("alice-phone")
		_, l := te.Client("alice-laptop")
		return !p && !l
	})
	for _, id := range []string{"bob-phone", "anon"} {
		if _, ok := te.Client(id); !ok {
			t.Fatalf("%s was disconnected too", id)
		}
	}
	if n := te.DisconnectUser("alice", packets.ErrAdministrativeAction.Code); n != 0 {
		t.Fatalf("second DisconnectUser closed %d", n)
	}
}

// TestV3CodeBanned: a v5 0x8A (banned: a disabled user) is 3.1.1 return
// code 5 (not authorized), not "server unavailable".
func TestV3CodeBanned(t *testing.T) {
	if c := v3Code(0x8A); c != 5 {
		t.Fatalf("v3Code(0x8A) = %d, want 5", c)
	}
}
