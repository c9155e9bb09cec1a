package im

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestMentions: mentioned members get "mention":true on their live copy and
// in the push event even when they muted the group; muted members are not
// pushed otherwise; "all" is for admins and the owner; non-members are
// dropped; history keeps the list.
func TestMentions(t *testing.T) {
	pr := &pushRec{}
	h := newHarness(t, func(_ *Config, o *Options) { o.Push = pr })
	g := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"bob", "carol", "dave"}}, CodeSuccess)["group"].(string)
	conv := "g:" + g
	for _, u := range []string{"bob", "carol"} {
		h.rpc(u, MethodConvSet, map[string]any{"conv": conv, "set": map[string]any{"mute": true}}, CodeSuccess)
	}
	check(t, h.svc.Connected(dev("alice", "a1")))
	h.rec.take()
	pr.take()

	// dave sends mentioning bob, erin (not a member), himself and bob again.
	h.handle(dev("dave", "d1"), req(groupTopic(g), `{"cid":"m1","body":"@bob look","mentions":["bob","erin","dave","bob"]}`), CodeSuccess)
	for _, u := range []string{"alice", "bob", "carol"} {
		ds := h.rec.on(userTopic(u, leafMsg))
		if len(ds) != 1 {
			t.Fatalf("%s deliveries %d", u, len(ds))
		}
		var m map[string]any
		check(t, json.Unmarshal(ds[0].Payload, &m))
		if ms := m["mentions"].([]any); len(ms) != 1 || ms[0] != "bob" {
			t.Fatalf("%s envelope %s", u, ds[0].Payload)
		}
		if (m["mention"] == true) != (u == "bob") {
			t.Fatalf("%s mention marker: %s", u, ds[0].Payload)
		}
	}
	// Pushes: bob (muted, mentioned) yes with mention; carol (muted) no; alice online no.
	evs := pr.take()
	if len(evs) != 1 || evs[0].User != "bob" || !evs[0].Mention {
		t.Fatalf("push events %+v", evs)
	}
	// Without a mention the muted members get no push; dave (not muted) does.
	h.sendGroup("alice", g, "p2", "plain")
	if evs := pr.take(); len(evs) != 1 || evs[0].User != "dave" || evs[0].Mention {
		t.Fatalf("push events without mention %+v", evs)
	}
	// "all": refused for a member, fine for the owner (everyone marked).
	h.handle(dev("dave", "d1"), req(groupTopic(g), `{"cid":"m2","body":"hey all","mentions":"all"}`), CodeNotAuthorized)
	h.rec.take()
	h.handle(dev("alice", "a1"), req(groupTopic(g), `{"cid":"m3","body":"hey all","mentions":"all"}`), CodeSuccess)
	for _, u := range []string{"bob", "carol", "dave"} {
		ds := h.rec.on(userTopic(u, leafMsg))
		if len(ds) != 1 || !json.Valid(ds[0].Payload) {
			t.Fatalf("%s: %+v", u, ds)
		}
		e, err := DecodeEnvelope(ds[0].Payload)
		check(t, err)
		var m map[string]any
		check(t, json.Unmarshal(ds[0].Payload, &m))
		if !e.MentionAll || m["mention"] != true {
			t.Fatalf("%s all: %s", u, ds[0].Payload)
		}
	}
	evs = pr.take()
	slices.SortFunc(evs, func(a, b PushEvent) int { return strings.Compare(a.User, b.User) })
	if len(evs) != 3 || evs[0].User != "bob" || evs[1].User != "carol" || !evs[0].Mention || !evs[1].Mention {
		t.Fatalf("push events for all %+v", evs)
	}
	// History keeps the mentions (no per-reader marker there).
	hist := msgsOf(t, h.rpc("carol", MethodHistory, map[string]any{"conv": conv}, CodeSuccess)["messages"])
	var got [][]string
	for _, e := range hist {
		if e.Type == TypeText {
			got = append(got, e.Mentions)
		}
	}
	if len(got) != 3 || !slices.Equal(got[0], []string{"bob"}) || got[1] != nil || !hist[len(hist)-1].MentionAll {
		t.Fatalf("history mentions %v", got)
	}
}

func TestMentionRefusals(t *testing.T) {
	h := newHarness(t)
	g := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"bob"}}, CodeSuccess)["group"].(string)
	for _, c := range []struct {
		topic, payload string
		want           byte
	}{
		{sendTopic("bob"), `{"cid":"1","body":"x","mentions":["bob"]}`, CodePayloadFormat},
		{groupTopic(g), `{"cid":"2","body":"x","mentions":"everyone"}`, CodePayloadFormat},
		{groupTopic(g), `{"cid":"3","body":"x","mentions":["a/b"]}`, CodePayloadFormat},
		{groupTopic(g), `{"cid":"4","body":"x","mentions":{"bob":1}}`, CodePayloadFormat},
	} {
		h.handle(dev("alice", "a1"), req(c.topic, c.payload), c.want)
	}
	// An empty list or null is no mention.
	h.handle(dev("alice", "a1"), req(sendTopic("bob"), `{"cid":"5","body":"x","mentions":[]}`), CodeSuccess)
	h.handle(dev("alice", "a1"), req(groupTopic(g), `{"cid":"6","body":"x","mentions":null}`), CodeSuccess)
}
