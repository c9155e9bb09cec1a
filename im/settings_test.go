package im

import (
	"encoding/json"
	"testing"
	"time"
)

// prefsEvents decodes the events recorded on user's prefs topic.
func prefsEvents(t *testing.T, h *harness, user string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, d := range h.rec.on(userTopic(user, leafPrefs)) {
		var m map[string]any
		check(t, json.Unmarshal(d.Payload, &m))
		out = append(out, m)
	}
	return out
}

// convsByID returns user's conversations keyed by conv.
func convsByID(t *testing.T, h *harness, user string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, x := range h.rpc(user, MethodConversations, map[string]any{}, CodeSuccess)["conversations"].([]any) {
		c := x.(map[string]any)
		out[c["conv"].(string)] = c
	}
	return out
}

// TestConvSettings: mute, pin, archive and a name are set per field, returned
// by conversations, published to the user's devices, kept across a restart,
// and cleared; the other user sees none of it.
func TestConvSettings(t *testing.T) {
	h := newHarness(t)
	h.send("alice", "bob", "1", "hi")
	g := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"bob"}}, CodeSuccess)["group"].(string)
	now := h.clock.ms.Load()

	r := h.rpc("alice", MethodConvSet, map[string]any{"conv": "d:alice:bob", "set": map[string]any{"mute": true, "pin": true, "name": "Bobby"}}, CodeSuccess)
	set := r["settings"].(map[string]any)
	if r["conv"] != "d:alice:bob" || set["mute"] != true || set["pin"] != true || set["pinned_at"].(float64) != float64(now) ||
		set["name"] != "Bobby" || set["archive"] != nil || set["mute_until"] != nil {
		t.Fatalf("conversation.set: %v", r)
	}
	evs := prefsEvents(t, h, "alice")
	if len(evs) != 1 || evs[0]["event"] != "conversation" || evs[0]["conv"] != "d:alice:bob" ||
		evs[0]["settings"].(map[string]any)["name"] != "Bobby" {
		t.Fatalf("prefs events %v", evs)
	}
	// A second change touches only its field.
	h.rpc("alice", MethodConvSet, map[string]any{"conv": "d:alice:bob", "set": map[string]any{"archive": true}}, CodeSuccess)
	h.rpc("alice", MethodConvSet, map[string]any{"conv": "g:" + g, "set": map[string]any{"mute_until": now + 3_600_000}}, CodeSuccess)
	h.restart()
	cs := convsByID(t, h, "alice")
	d := cs["d:alice:bob"]["settings"].(map[string]any)
	if d["mute"] != true || d["pin"] != true || d["archive"] != true || d["name"] != "Bobby" {
		t.Fatalf("direct settings %v", d)
	}
	gs := cs["g:"+g]["settings"].(map[string]any)
	if gs["mute"] != true || gs["mute_until"].(float64) != float64(now+3_600_000) || gs["pin"] != nil {
		t.Fatalf("group settings %v", gs)
	}
	for _, c := range convsByID(t, h, "bob") {
		if c["settings"] != nil {
			t.Fatalf("bob sees settings %v", c)
		}
	}
	// A timed mute ends by itself.
	h.clock.advance(2 * time.Hour)
	if s := convsByID(t, h, "alice")["g:"+g]["settings"]; s != nil {
		t.Fatalf("expired mute still shown: %v", s)
	}
	// Clearing.
	r = h.rpc("alice", MethodConvSet, map[string]any{"conv": "d:alice:bob", "set": map[string]any{"mute": false, "pin": false, "archive": false, "name": ""}}, CodeSuccess)
	if s := r["settings"].(map[string]any); len(s) != 0 {
		t.Fatalf("cleared settings %v", s)
	}
	if s := convsByID(t, h, "alice")["d:alice:bob"]["settings"]; s != nil {
		t.Fatalf("cleared settings listed: %v", s)
	}
}

func TestConvSettingsRefusals(t *testing.T) {
	h := newHarness(t)
	g := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"bob"}}, CodeSuccess)["group"].(string)
	now := h.clock.ms.Load()
	for _, c := range []struct {
		user string
		req  map[string]any
		want byte
	}{
		{"alice", map[string]any{"conv": "d:alice:bob"}, CodePayloadFormat},
		{"alice", map[string]any{"conv": "d:alice:bob", "set": map[string]any{}}, CodePayloadFormat},
		{"alice", map[string]any{"conv": "d:alice:bob", "set": []int{1}}, CodePayloadFormat},
		{"alice", map[string]any{"conv": "nope", "set": map[string]any{"pin": true}}, CodePayloadFormat},
		{"alice", map[string]any{"conv": "g:" + g, "set": map[string]any{"name": "x"}}, CodePayloadFormat},
		{"alice", map[string]any{"conv": "d:alice:bob", "set": map[string]any{"mute_until": now}}, CodePayloadFormat},
		{"alice", map[string]any{"conv": "d:alice:bob", "set": map[string]any{"mute": false, "mute_until": now + 1}}, CodePayloadFormat},
		{"alice", map[string]any{"conv": "d:alice:bob", "set": map[string]any{"name": string(make([]byte, 200))}}, CodePayloadFormat},
		{"carol", map[string]any{"conv": "d:alice:bob", "set": map[string]any{"mute": true}}, CodeNotAuthorized},
		{"carol", map[string]any{"conv": "g:" + g, "set": map[string]any{"mute": true}}, CodeNotAuthorized},
	} {
		h.rpc(c.user, MethodConvSet, c.req, c.want)
	}
	if evs := prefsEvents(t, h, "alice"); len(evs) != 0 {
		t.Fatalf("events for refused changes: %v", evs)
	}
}
