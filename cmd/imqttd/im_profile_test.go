package main

import (
	"strings"
	"testing"
	"time"
)

// TestIMProfile: alice sets her profile from mosquitto 3.1.1; bob, who shares
// a conversation with her, reads it (paho v5), gets the change event on his
// paho v5 and mosquitto 3.1.1 devices and sees her name in conversations and
// group.members; carol, a stranger, reads nothing and gets no event; a bad
// avatar is 0x99 on the PUBACK and in the response.
func TestIMProfile(t *testing.T) {
	n := imNodeAuth(t, "", "")
	alice := imConnect(t, n, "alice", "alice-phone")
	bob := imConnect(t, n, "bob", "bob-phone")
	carol := imConnect(t, n, "carol", "carol-phone")
	alice.send(t, "im/send/user/bob", "p1", "hi bob")
	g := alice.rpc(t, "group.create", map[string]any{"name": "team", "users": []string{"bob", "dave"}})
	group := g["group"].(string)
	bobScript := mosquittoSub311(t, n, "bob", "bob-script", "im/u/bob/profile")
	aliceScript := mosquittoSub311(t, n, "alice", "alice-script", "im/u/alice/rpc/#")

	// Set from MQTT 3.1.1 (reply_to in the payload).
	mosquittoPub311(t, n, "alice", "im/rpc/profile.set",
		`{"rid":"s1","display_name":"Alice Å.","status":"on a train","avatar":"https://cdn.example.com/alice.png","reply_to":"im/u/alice/rpc/s1"}`)
	if out := aliceScript(`"rid":"s1"`); !strings.Contains(out, `"ok":true`) || !strings.Contains(out, `"display_name":"Alice Å."`) {
		t.Fatalf("3.1.1 profile.set response: %s", out)
	}
	// The change event: alice's other device (QoS 1) and bob's devices.
	if ev := alice.await(t, "profile", nil); ev["event"] != "profile" || ev["user"] != "alice" || ev["status"] != "on a train" {
		t.Fatalf("own device event %v", ev)
	}
	if ev := bob.await(t, "profile", nil); ev["user"] != "alice" || ev["display_name"] != "Alice Å." ||
		ev["avatar"] != "https://cdn.example.com/alice.png" || num(t, ev, "updated") == 0 {
		t.Fatalf("contact event %v", ev)
	}
	if out := bobScript(`"user":"alice"`); !strings.Contains(out, `"display_name":"Alice Å."`) {
		t.Fatalf("3.1.1 contact event: %s", out)
	}
	carol.quiet(t, "profile", 300*time.Millisecond)

	// Read: bob sees it, carol gets an empty list (paho v5 and 3.1.1).
	ps := bob.rpc(t, "profile.get", map[string]any{"users": []string{"alice", "carol"}})["profiles"].([]any)
	if len(ps) != 1 || ps[0].(map[string]any)["display_name"] != "Alice Å." {
		t.Fatalf("bob's profile.get %v", ps)
	}
	if r := carol.rpc(t, "profile.get", map[string]any{"users": []string{"alice"}}); r["ok"] != true || len(r["profiles"].([]any)) != 0 {
		t.Fatalf("stranger's profile.get %v", r)
	}
	carolScript := mosquittoSub311(t, n, "carol", "carol-script", "im/u/carol/rpc/#")
	mosquittoPub311(t, n, "carol", "im/rpc/profile.get", `{"rid":"g1","users":["alice"],"reply_to":"im/u/carol/rpc/g1"}`)
	if out := carolScript(`"rid":"g1"`); !strings.Contains(out, `"profiles":[]`) {
		t.Fatalf("3.1.1 stranger's profile.get: %s", out)
	}

	// Display names in the lists.
	for _, x := range bob.rpc(t, "conversations", map[string]any{})["conversations"].([]any) {
		if c := x.(map[string]any); c["conv"] == "d:alice:bob" && c["display_name"] != "Alice Å." {
			t.Fatalf("bob's conversations %v", c)
		}
	}
	dave := imConnect(t, n, "dave", "dave-phone")
	found := false
	for _, x := range dave.rpc(t, "group.members", map[string]any{"group": group})["members"].([]any) {
		if m := x.(map[string]any); m["user"] == "alice" {
			found = m["display_name"] == "Alice Å."
		}
	}
	if !found {
		t.Fatal("group.members has no display name for alice")
	}

	// A bad avatar: 0x99 on the PUBACK and in the response, nothing changed.
	code := alice.publish(t, "im/rpc/profile.set", map[string]any{"rid": "bad", "avatar": "http://x/a.png", "reply_to": "im/u/alice/rpc/bad"}, nil)
	if code != 0x99 {
		t.Fatalf("bad avatar: PUBACK %#x", code)
	}
	if r := alice.awaitTopic(t, "im/u/alice/rpc/bad", nil); r["ok"] != false || !strings.Contains(r["reason"].(string), "https") {
		t.Fatalf("bad avatar response %v", r)
	}
	if p := alice.rpc(t, "profile.get", map[string]any{})["profiles"].([]any)[0].(map[string]any); p["avatar"] != "https://cdn.example.com/alice.png" {
		t.Fatalf("after a refusal %v", p)
	}
}
