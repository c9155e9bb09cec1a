package im

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// profileEvents decodes the profile events recorded on user's profile topic
// and their QoS.
func profileEvents(t *testing.T, h *harness, user string) (evs []map[string]any, qos []byte) {
	t.Helper()
	for _, d := range h.rec.on(userTopic(user, leafProfile)) {
		var m map[string]any
		check(t, json.Unmarshal(d.Payload, &m))
		evs, qos = append(evs, m), append(qos, d.QoS)
	}
	return evs, qos
}

// profilesOf calls profile.get as viewer and returns the profiles by user.
func profilesOf(t *testing.T, h *harness, viewer string, users ...string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	r := h.rpc(viewer, MethodProfileGet, map[string]any{"users": users}, CodeSuccess)
	for _, x := range r["profiles"].([]any) {
		p := x.(map[string]any)
		out[p["user"].(string)] = p
	}
	return out
}

// TestProfileSetGet: fields are set one by one, returned whole, kept across a
// restart and cleared with ""; the caller's own profile is the default of
// profile.get.
func TestProfileSetGet(t *testing.T) {
	h := newHarness(t)
	now := h.clock.ms.Load()
	r := h.rpc("alice", MethodProfileSet, map[string]any{"display_name": "Alice Ö. 🌷", "status": "at work"}, CodeSuccess)
	p := r["profile"].(map[string]any)
	if p["user"] != "alice" || p["display_name"] != "Alice Ö. 🌷" || p["status"] != "at work" || p["avatar"] != nil ||
		p["updated"].(float64) != float64(now) {
		t.Fatalf("profile.set: %v", r)
	}
	h.clock.advance(time.Second)
	h.rpc("alice", MethodProfileSet, map[string]any{"avatar": "https://cdn.example.com/a/alice.png?v=2"}, CodeSuccess)
	h.restart()
	p = profilesOf(t, h, "alice")["alice"]
	if p["display_name"] != "Alice Ö. 🌷" || p["status"] != "at work" || p["avatar"] != "https://cdn.example.com/a/alice.png?v=2" ||
		p["updated"].(float64) != float64(now+1000) {
		t.Fatalf("after restart: %v", p)
	}
	h.rpc("alice", MethodProfileSet, map[string]any{"status": "", "avatar": ""}, CodeSuccess)
	p = profilesOf(t, h, "alice", "alice")["alice"]
	if p["display_name"] != "Alice Ö. 🌷" || p["status"] != nil || p["avatar"] != nil {
		t.Fatalf("after clearing: %v", p)
	}
	// A user who never set one: just the name.
	h.send("alice", "bob", "1", "hi")
	if p := profilesOf(t, h, "alice", "bob")["bob"]; len(p) != 1 {
		t.Fatalf("empty profile %v", p)
	}
}

// TestProfileRefusals: every bad field is 0x99 with the field named, and
// nothing is stored.
func TestProfileRefusals(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		params any
		reason string
	}{
		{map[string]any{}, "nothing to change"},
		{map[string]any{"display_name": strings.Repeat("x", 65)}, "display_name must be up to 64"},
		{map[string]any{"display_name": "a\nb"}, "display_name: character U+000A"},
		{map[string]any{"display_name": "evil\u202eexe.txt"}, "U+202E"},
		{map[string]any{"display_name": "a\u0085b"}, "U+0085"},
		{map[string]any{"display_name": " Alice"}, "must not start or end"},
		{map[string]any{"status": strings.Repeat("é", 141)}, "status must be up to 140"},
		{map[string]any{"display_name": 7}, "invalid payload"},
		{map[string]any{"avatar": "http://example.com/a.png"}, "not https"},
		{map[string]any{"avatar": "javascript:alert(1)"}, "not https"},
		{map[string]any{"avatar": "https://user@example.com/a.png"}, "user info"},
		{map[string]any{"avatar": "https:///a.png"}, "no host"},
		{map[string]any{"avatar": "https://example.com/a b.png"}, "percent-encode"},
		{map[string]any{"avatar": "https://example.com/" + strings.Repeat("a", maxAvatarLen)}, "too long"},
		{map[string]any{"users": make([]string, 0)}, "nothing to change"},
	} {
		r := h.rpc("alice", MethodProfileSet, tc.params, CodePayloadFormat)
		if reason, _ := r["reason"].(string); !strings.Contains(reason, tc.reason) {
			t.Errorf("%v: reason %q, want %q", tc.params, reason, tc.reason)
		}
	}
	if p := profilesOf(t, h, "alice")["alice"]; len(p) != 1 {
		t.Fatalf("a refusal stored something: %v", p)
	}
	for _, users := range [][]string{{"a/b"}, {""}, make([]string, maxProfileGet+1)} {
		h.rpc("alice", MethodProfileGet, map[string]any{"users": users}, CodePayloadFormat)
	}
}

// TestProfileVisibility: a conversation peer and a fellow group member see
// the profile, a stranger gets nothing (not an error), a block hides it both
// ways, and presence none shows each user only their own.
func TestProfileVisibility(t *testing.T) {
	h := newHarness(t)
	h.send("alice", "bob", "1", "hi")
	h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"dave"}}, CodeSuccess)
	h.rpc("alice", MethodProfileSet, map[string]any{"display_name": "Alice"}, CodeSuccess)
	for viewer, want := range map[string]bool{"alice": true, "bob": true, "dave": true, "carol": false} {
		ps := profilesOf(t, h, viewer, "alice", "alice")
		if got := ps["alice"]["display_name"] == "Alice"; got != want || len(ps) > 1 {
			t.Errorf("%s sees %v, want visible %v", viewer, ps, want)
		}
	}
	// carol asks for several: only her own comes back.
	if ps := profilesOf(t, h, "carol", "alice", "carol", "bob"); len(ps) != 1 || ps["carol"] == nil {
		t.Fatalf("stranger: %v", ps)
	}
	h.rpc("bob", MethodBlock, map[string]any{"user": "alice"}, CodeSuccess)
	if ps := profilesOf(t, h, "bob", "alice"); len(ps) != 0 {
		t.Fatalf("bob blocked alice and sees %v", ps)
	}
	if ps := profilesOf(t, h, "alice", "bob"); len(ps) != 0 {
		t.Fatalf("alice, blocked by bob, sees %v", ps)
	}

	hn := newHarness(t, func(c *Config, _ *Options) { c.Presence = PresenceNone })
	hn.send("alice", "bob", "1", "hi")
	hn.rpc("alice", MethodProfileSet, map[string]any{"display_name": "Alice"}, CodeSuccess)
	if ps := profilesOf(t, hn, "bob", "alice"); len(ps) != 0 {
		t.Fatalf("presence none: bob sees %v", ps)
	}
	if c := convsByID(t, hn, "bob")["d:alice:bob"]; c["display_name"] != nil {
		t.Fatalf("presence none: conversations %v", c)
	}
	if evs, _ := profileEvents(t, hn, "bob"); len(evs) != 0 {
		t.Fatalf("presence none: bob got %v", evs)
	}
}

// TestProfileEvents: a change reaches the user's devices (QoS 1) and each
// contact (QoS 0), not strangers nor a contact who blocked the user.
func TestProfileEvents(t *testing.T) {
	h := newHarness(t)
	h.send("alice", "bob", "1", "hi")
	h.send("alice", "erin", "1", "hi")
	h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"bob", "dave"}}, CodeSuccess)
	h.rpc("erin", MethodBlock, map[string]any{"user": "alice"}, CodeSuccess)
	h.rec.take()
	h.rpc("alice", MethodProfileSet, map[string]any{"display_name": "Alice", "status": "hi \"all\""}, CodeSuccess)
	evs, qos := profileEvents(t, h, "alice")
	if len(evs) != 1 || qos[0] != 1 || evs[0]["event"] != "profile" || evs[0]["user"] != "alice" ||
		evs[0]["display_name"] != "Alice" || evs[0]["status"] != `hi "all"` || evs[0]["updated"] == nil {
		t.Fatalf("own devices: %v %v", evs, qos)
	}
	for _, u := range []string{"bob", "dave"} {
		evs, qos := profileEvents(t, h, u)
		if len(evs) != 1 || qos[0] != 0 || evs[0]["user"] != "alice" || evs[0]["display_name"] != "Alice" {
			t.Fatalf("%s: %v %v", u, evs, qos)
		}
	}
	for _, u := range []string{"carol", "erin"} {
		if evs, _ := profileEvents(t, h, u); len(evs) != 0 {
			t.Fatalf("%s got %v", u, evs)
		}
	}
}

// TestProfileNamesInLists: conversations and group.members carry the
// display names the caller may see.
func TestProfileNamesInLists(t *testing.T) {
	h := newHarness(t)
	h.send("alice", "bob", "1", "hi")
	g := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"bob", "dave"}}, CodeSuccess)["group"].(string)
	h.rpc("alice", MethodProfileSet, map[string]any{"display_name": "Alice"}, CodeSuccess)
	h.rpc("bob", MethodProfileSet, map[string]any{"display_name": "Bob B."}, CodeSuccess)
	cs := convsByID(t, h, "alice")
	if cs["d:alice:bob"]["display_name"] != "Bob B." || cs["g:"+g]["display_name"] != nil {
		t.Fatalf("alice's conversations %v", cs)
	}
	if c := convsByID(t, h, "bob")["d:alice:bob"]; c["display_name"] != "Alice" {
		t.Fatalf("bob's conversations %v", c)
	}
	names := map[string]any{}
	for _, x := range h.rpc("dave", MethodGroupMembers, map[string]any{"group": g}, CodeSuccess)["members"].([]any) {
		m := x.(map[string]any)
		names[m["user"].(string)] = m["display_name"]
	}
	if names["alice"] != "Alice" || names["bob"] != "Bob B." || names["dave"] != nil || len(names) != 3 {
		t.Fatalf("group.members names %v", names)
	}
}

// TestProfileConcurrentFields: two devices setting different fields at once
// both win (one key per field, no read-modify-write).
func TestProfileConcurrentFields(t *testing.T) {
	h := newHarness(t)
	for round := range 10 {
		var wg sync.WaitGroup
		name, status := "name "+string(rune('a'+round)), "status "+string(rune('a'+round))
		for i, f := range []map[string]any{{"display_name": name}, {"status": status}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := dev("alice", "alice-"+string(rune('0'+i)))
				if out := h.svc.Handle(bg(), c, Request{Topic: rpcTopic(MethodProfileSet), Payload: []byte(mustJSON(t, f)), QoS: 1}); out.Code != 0 {
					t.Errorf("profile.set %v: %#x %s", f, out.Code, out.Reason)
				}
			}()
		}
		wg.Wait()
		if p := profilesOf(t, h, "alice")["alice"]; p["display_name"] != name || p["status"] != status {
			t.Fatalf("round %d: %v", round, p)
		}
	}
}
