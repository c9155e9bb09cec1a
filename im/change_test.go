package im

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/imqtt/imqtt/persist"
)

// lastEnv returns the newest envelope delivered on user's msg topic.
func lastEnv(t *testing.T, h *harness, user string) Envelope {
	t.Helper()
	es := h.envs(userTopic(user, leafMsg))
	if len(es) == 0 {
		t.Fatalf("%s got nothing", user)
	}
	return es[len(es)-1]
}

// rawContaining returns every raw key (all raw prefix letters) whose key
// or value contains needle.
func rawContaining(t *testing.T, st *persist.Store, needle string) []string {
	t.Helper()
	var out []string
	for _, l := range "cdghijklopuvwxyz" {
		err := st.ScanRaw([]byte{byte(l), '/'}, persist.ScanOptions{}, func(k, v []byte) error {
			if bytes.Contains(k, []byte(needle)) || bytes.Contains(v, []byte(needle)) {
				out = append(out, string(k)+" = "+string(v))
			}
			return nil
		})
		check(t, err)
	}
	return out
}

// historyOf returns bob's view of conv: every message, decoded, and raw.
func historyOf(t *testing.T, h *harness, user, conv string) ([]Envelope, []map[string]any) {
	t.Helper()
	m := h.rpc(user, MethodHistory, map[string]any{"conv": conv}, CodeSuccess)
	var raws []map[string]any
	for _, x := range m["messages"].([]any) {
		raws = append(raws, x.(map[string]any))
	}
	return msgsOf(t, m["messages"]), raws
}

func TestEditAndRecall(t *testing.T) {
	pr := &pushRec{}
	h := newHarness(t, func(_ *Config, o *Options) { o.Push = pr })
	const conv = "d:alice:bob"
	h.send("alice", "bob", "1", "secret-original")
	h.send("bob", "alice", "2", "reply")
	pr.take()

	// Edit: the event goes live to bob, the stored message is rewritten.
	h.clock.advance(time.Minute)
	r := h.rpc("alice", MethodMsgEdit, map[string]any{"conv": conv, "seq": 1, "body": "secret-edited"}, CodeSuccess)
	if r["conv"] != conv || r["target"].(float64) != 1 || r["seq"].(float64) != 3 || r["changed"] != true || r["id"] == "" {
		t.Fatalf("edit response %v", r)
	}
	ev := lastEnv(t, h, "bob")
	if ev.Type != TypeEdit || ev.Target != 1 || ev.Seq != 3 || ev.Body != "secret-edited" || ev.From != "alice" || ev.To != "bob" {
		t.Fatalf("bob got %+v", ev)
	}
	if evs := pr.take(); len(evs) != 1 || evs[0].Kind != TypeEdit || evs[0].Target != 1 || evs[0].Preview != "secret-edited" {
		t.Fatalf("edit push %+v", evs)
	}
	msgs, _ := historyOf(t, h, "bob", conv)
	if len(msgs) != 3 || msgs[0].Body != "secret-edited" || msgs[0].EditedTS != h.clock.Now().UnixMilli() || msgs[0].CID != "1" ||
		msgs[2].Type != TypeEdit || msgs[2].Target != 1 {
		t.Fatalf("history after edit %+v", msgs)
	}
	if got := rawContaining(t, h.store, "secret-original"); len(got) != 0 {
		t.Fatalf("original body still stored: %q", got)
	}

	// Recall: tombstone; the body of the message and of its edit is gone.
	h.rpc("alice", MethodMsgRecall, map[string]any{"conv": conv, "seq": 1}, CodeSuccess)
	ev = lastEnv(t, h, "bob")
	if ev.Type != TypeRecall || ev.Target != 1 || ev.Seq != 4 || ev.Body != "" {
		t.Fatalf("bob got %+v", ev)
	}
	if evs := pr.take(); len(evs) != 1 || evs[0].Kind != TypeRecall || evs[0].Target != 1 || evs[0].Preview != "" {
		t.Fatalf("recall push %+v", evs)
	}
	if got := rawContaining(t, h.store, "secret-"); len(got) != 0 {
		t.Fatalf("recalled body still stored: %q", got)
	}
	msgs, _ = historyOf(t, h, "bob", conv)
	if len(msgs) != 4 || !msgs[0].Recalled || msgs[0].Body != "" || msgs[0].EditedTS != 0 || msgs[0].ID == 0 ||
		!msgs[2].Recalled || msgs[2].Body != "" || msgs[2].Type != TypeEdit || msgs[3].Type != TypeRecall {
		t.Fatalf("history after recall %+v", msgs)
	}
	// A device syncing from the start sees the same.
	sm := h.rpc("bob", MethodSync, map[string]any{}, CodeSuccess)
	synced := msgsOf(t, sm["messages"])
	if len(synced) != 4 || !synced[0].Recalled || synced[2].Body != "" || synced[3].Type != TypeRecall {
		t.Fatalf("sync %+v", synced)
	}
	// As a send does, the author's own event raises their cursors.
	cs := h.rpc("alice", MethodConversations, map[string]any{}, CodeSuccess)
	if c := cs["conversations"].([]any)[0].(map[string]any); c["unread"].(float64) != 0 || c["read"].(float64) != 4 {
		t.Fatalf("alice's conversation %v", c)
	}
}

func TestChangeRefusals(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *Options) {
		c.EditWindow = time.Hour
		c.RecallWindow = 10 * time.Minute
		c.MaxBodyBytes = 100
	})
	const conv = "d:alice:bob"
	h.send("alice", "bob", "1", "one")                                                                          // 1
	h.handle(dev("alice", "a1"), req(sendTopic("bob"), `{"cid":"2","type":"x.card","body":"{}"}`), CodeSuccess) // 2
	h.send("bob", "alice", "3", "three")                                                                        // 3
	h.send("alice", "bob", "4", "four")                                                                         // 4
	h.rpc("alice", MethodMsgRecall, map[string]any{"conv": conv, "seq": 4}, CodeSuccess)                        // 5
	h.send("alice", "carol", "6", "x")

	type tc struct {
		name, user, method string
		params             map[string]any
		code               byte
		reason             string
	}
	run := func(cases []tc) {
		t.Helper()
		for _, c := range cases {
			h.rec.take()
			m := h.rpc(c.user, c.method, c.params, c.code)
			if !strings.HasPrefix(m["reason"].(string), c.reason) {
				t.Errorf("%s: reason %q, want %q...", c.name, m["reason"], c.reason)
			}
		}
	}
	run([]tc{
		{"edit other's", "bob", MethodMsgEdit, map[string]any{"conv": conv, "seq": 1, "body": "x"}, CodeNotAuthorized, "not allowed"},
		{"recall other's direct", "bob", MethodMsgRecall, map[string]any{"conv": conv, "seq": 1}, CodeNotAuthorized, "not allowed"},
		{"edit missing", "alice", MethodMsgEdit, map[string]any{"conv": conv, "seq": 99, "body": "x"}, CodeImplementation, "no such message"},
		{"recall missing", "alice", MethodMsgRecall, map[string]any{"conv": conv, "seq": 99}, CodeImplementation, "no such message"},
		{"react missing", "bob", MethodMsgReact, map[string]any{"conv": conv, "seq": 99, "emoji": "👍"}, CodeImplementation, "no such message"},
		{"edit non-text", "alice", MethodMsgEdit, map[string]any{"conv": conv, "seq": 2, "body": "x"}, CodeImplementation, "message cannot be changed"},
		{"edit recalled", "alice", MethodMsgEdit, map[string]any{"conv": conv, "seq": 4, "body": "x"}, CodeImplementation, "message cannot be changed"},
		{"recall recalled", "alice", MethodMsgRecall, map[string]any{"conv": conv, "seq": 4}, CodeImplementation, "message cannot be changed"},
		{"react recalled", "bob", MethodMsgReact, map[string]any{"conv": conv, "seq": 4, "emoji": "👍"}, CodeImplementation, "message cannot be changed"},
		{"edit an event", "alice", MethodMsgEdit, map[string]any{"conv": conv, "seq": 5, "body": "x"}, CodeImplementation, "message cannot be changed"},
		{"not a member", "carol", MethodMsgRecall, map[string]any{"conv": conv, "seq": 1}, CodeNotAuthorized, "not a member"},
		{"seq 0", "alice", MethodMsgEdit, map[string]any{"conv": conv, "body": "x"}, CodePayloadFormat, "invalid payload"},
		{"bad conv", "alice", MethodMsgRecall, map[string]any{"conv": "d:bob:alice", "seq": 1}, CodePayloadFormat, "invalid payload"},
		{"empty body", "alice", MethodMsgEdit, map[string]any{"conv": conv, "seq": 1}, CodePayloadFormat, "invalid payload"},
		{"big body", "alice", MethodMsgEdit, map[string]any{"conv": conv, "seq": 1, "body": strings.Repeat("x", 101)}, CodeQuotaExceeded, "too large"},
		{"no emoji", "bob", MethodMsgReact, map[string]any{"conv": conv, "seq": 1}, CodePayloadFormat, "invalid payload"},
		{"long emoji", "bob", MethodMsgReact, map[string]any{"conv": conv, "seq": 1, "emoji": strings.Repeat("x", 33)}, CodePayloadFormat, "invalid payload"},
		{"control emoji", "bob", MethodMsgReact, map[string]any{"conv": conv, "seq": 1, "emoji": "a\nb"}, CodePayloadFormat, "invalid payload"},
	})
	// Clients cannot forge events with a send.
	for _, typ := range []string{TypeEdit, TypeRecall, TypeReaction} {
		h.handle(dev("alice", "a1"), req(sendTopic("bob"), `{"cid":"f`+typ+`","type":"`+typ+`","body":"x"}`), CodePayloadFormat)
	}
	// Windows: the recall window passes first, then the edit window.
	h.clock.advance(11 * time.Minute)
	run([]tc{
		{"recall late", "alice", MethodMsgRecall, map[string]any{"conv": conv, "seq": 1}, CodeImplementation, "window passed"},
	})
	h.rpc("alice", MethodMsgEdit, map[string]any{"conv": conv, "seq": 1, "body": "edited"}, CodeSuccess)
	h.clock.advance(time.Hour)
	run([]tc{
		{"edit late", "alice", MethodMsgEdit, map[string]any{"conv": conv, "seq": 1, "body": "x"}, CodeImplementation, "window passed"},
	})
	// Nothing refused took a seq.
	if last, _ := h.svc.lastSeq(conv); last != 6 {
		t.Fatalf("last seq %d, want 6", last)
	}
}

func TestGroupAdminRecall(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *Options) { c.RecallWindow = time.Minute })
	res := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "T", "users": []string{"bob", "carol", "dave"}}, CodeSuccess)
	g := res["group"].(string)
	conv := "g:" + g
	h.rpc("alice", MethodGroupRole, map[string]any{"group": g, "user": "bob", "role": RoleAdmin}, CodeSuccess) // 2
	h.sendGroup("carol", g, "1", "spam-one")                                                                   // 3
	h.sendGroup("alice", g, "2", "owner's")                                                                    // 4
	h.sendGroup("dave", g, "3", "spam-two")                                                                    // 5
	// A member may not recall another's message.
	h.rpc("dave", MethodMsgRecall, map[string]any{"conv": conv, "seq": 3}, CodeNotAuthorized)
	// Admin and owner may, at any time, and everyone sees it.
	h.clock.advance(time.Hour)
	h.rpc("bob", MethodMsgRecall, map[string]any{"conv": conv, "seq": 3}, CodeSuccess)
	for _, u := range []string{"alice", "carol", "dave"} {
		if ev := lastEnv(t, h, u); ev.Type != TypeRecall || ev.Target != 3 || ev.From != "bob" {
			t.Fatalf("%s got %+v", u, ev)
		}
	}
	h.rpc("bob", MethodMsgRecall, map[string]any{"conv": conv, "seq": 4}, CodeSuccess)
	h.rpc("alice", MethodMsgRecall, map[string]any{"conv": conv, "seq": 5}, CodeSuccess)
	// The sender's own window has passed.
	h.rpc("carol", MethodMsgRecall, map[string]any{"conv": conv, "seq": 3}, CodeImplementation)
	// A demoted admin can no longer.
	h.sendGroup("carol", g, "4", "more") // 9
	h.rpc("alice", MethodGroupRole, map[string]any{"group": g, "user": "bob", "role": RoleMember}, CodeSuccess)
	h.rpc("bob", MethodMsgRecall, map[string]any{"conv": conv, "seq": 9}, CodeNotAuthorized)
	if got := rawContaining(t, h.store, "spam-"); len(got) != 0 {
		t.Fatalf("recalled bodies still stored: %q", got)
	}
	// Edit and recall can't name a notice.
	h.rpc("alice", MethodMsgRecall, map[string]any{"conv": conv, "seq": 1}, CodeImplementation)
}

func TestReactions(t *testing.T) {
	h := newHarness(t)
	res := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "T", "users": []string{"bob", "carol"}}, CodeSuccess)
	g := res["group"].(string)
	conv := "g:" + g
	h.sendGroup("alice", g, "1", "hello") // 2
	react := func(user, emoji string, remove bool, want byte) map[string]any {
		t.Helper()
		return h.rpc(user, MethodMsgReact, map[string]any{"conv": conv, "seq": 2, "emoji": emoji, "remove": remove}, want)
	}
	if r := react("bob", "👍", false, CodeSuccess); r["changed"] != true || r["seq"].(float64) != 3 {
		t.Fatalf("react %v", r)
	}
	if ev := lastEnv(t, h, "alice"); ev.Type != TypeReaction || ev.Target != 2 || ev.Emoji != "👍" || ev.Remove || ev.From != "bob" {
		t.Fatalf("alice got %+v", ev)
	}
	if r := react("bob", "👍", false, CodeSuccess); r["changed"] != false || r["seq"] != nil {
		t.Fatalf("repeat %v", r)
	}
	react("carol", "👍", false, CodeSuccess)
	react("carol", "🎉", false, CodeSuccess)
	react("alice", "a/b", false, CodeSuccess)
	want := func(user, js string) {
		t.Helper()
		_, raws := historyOf(t, h, user, conv)
		got, _ := json.Marshal(raws[1]["reactions"])
		if string(got) != js {
			t.Fatalf("%s sees reactions %s, want %s", user, got, js)
		}
		if raws[0]["reactions"] != nil || raws[2]["reactions"] != nil {
			t.Fatalf("reactions on other entries: %v", raws)
		}
	}
	want("bob", `[{"count":1,"emoji":"a/b"},{"count":1,"emoji":"🎉"},{"count":2,"emoji":"👍","me":true}]`)
	want("carol", `[{"count":1,"emoji":"a/b"},{"count":1,"emoji":"🎉","me":true},{"count":2,"emoji":"👍","me":true}]`)
	r := react("bob", "👍", true, CodeSuccess)
	if ev := lastEnv(t, h, "carol"); ev.Type != TypeReaction || !ev.Remove || ev.Seq != uint64(r["seq"].(float64)) {
		t.Fatalf("carol got %+v", ev)
	}
	if r := react("bob", "👍", true, CodeSuccess); r["changed"] != false {
		t.Fatalf("repeat remove %v", r)
	}
	want("bob", `[{"count":1,"emoji":"a/b"},{"count":1,"emoji":"🎉"},{"count":1,"emoji":"👍"}]`)
	// At most maxReactionKinds distinct; more of an existing one is fine.
	for i := 3; i < maxReactionKinds; i++ {
		react("alice", string(rune('A'+i)), false, CodeSuccess)
	}
	react("bob", "new", false, CodeQuotaExceeded)
	react("bob", "🎉", false, CodeSuccess)
	// Reactions on events are refused; after a recall none are shown.
	h.rpc("bob", MethodMsgReact, map[string]any{"conv": conv, "seq": 3, "emoji": "x"}, CodeImplementation)
	h.rpc("alice", MethodMsgRecall, map[string]any{"conv": conv, "seq": 2}, CodeSuccess)
	if _, raws := historyOf(t, h, "bob", conv); raws[1]["reactions"] != nil || raws[1]["recalled"] != true {
		t.Fatalf("recalled message %v", raws[1])
	}
}

func TestChangeWindowsConfig(t *testing.T) {
	if c := DefaultConfig(); c.EditWindow != 48*time.Hour || c.RecallWindow != 24*time.Hour || c.Validate() != nil {
		t.Fatalf("defaults %v %v: %v", c.EditWindow, c.RecallWindow, c.Validate())
	}
	for _, tc := range []struct {
		key string
		mod func(*Config)
	}{
		{"edit_window", func(c *Config) { c.EditWindow = -time.Second }},
		{"edit_window", func(c *Config) { c.EditWindow = 366 * 24 * time.Hour }},
		{"recall_window", func(c *Config) { c.RecallWindow = -1 }},
	} {
		c := DefaultConfig()
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), tc.key+": ") {
			t.Errorf("%s: %v", tc.key, err)
		}
	}
	c := DefaultConfig()
	c.EditWindow, c.RecallWindow = 0, 0
	check(t, c.Validate())
}
