package im

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/imqtt/imqtt/persist"
)

// TestBlock: a blocked user's direct send is refused with 0x87 "blocked" and
// takes no seq, the blocker cannot send either, typing and presence are
// hidden both ways, groups are unaffected, and unblock restores everything.
func TestBlock(t *testing.T) {
	h := newHarness(t)
	h.send("bob", "alice", "1", "hi")
	g := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"bob"}}, CodeSuccess)["group"].(string)
	if !h.svc.CanSubscribe("bob", "im/presence/alice") || !h.svc.CanReceive("alice", "im/presence/bob") {
		t.Fatal("presence hidden before the block")
	}

	r := h.rpc("alice", MethodBlock, map[string]any{"user": "bob"}, CodeSuccess)
	if r["user"] != "bob" || r["blocked"] != true {
		t.Fatalf("block: %v", r)
	}
	ev := h.rec.on(userTopic("alice", leafPrefs))
	if len(ev) != 1 || ev[0].QoS != 1 {
		t.Fatalf("prefs events %+v", ev)
	}
	var e map[string]any
	check(t, json.Unmarshal(ev[0].Payload, &e))
	if e["event"] != "block" || e["user"] != "bob" || e["blocked"] != true {
		t.Fatalf("block event %s", ev[0].Payload)
	}
	h.rpc("alice", MethodBlock, map[string]any{"user": "bob"}, CodeSuccess) // idempotent

	// bob's send is refused: the fixed reason, no seq taken, nothing delivered.
	h.rec.take()
	h.handle(dev("bob", "b1"), req(sendTopic("alice"), sendBody("2", "hello?")), CodeNotAuthorized)
	if a := h.lastAck("bob"); a.OK || a.Reason != "blocked" || a.CID != "2" {
		t.Fatalf("blocked ack %+v", a)
	}
	if len(h.rec.on(userTopic("alice", leafMsg))) != 0 {
		t.Fatal("blocked message delivered")
	}
	// alice cannot write to bob while she blocks him.
	h.handle(dev("alice", "a1"), req(sendTopic("bob"), sendBody("3", "x")), CodeNotAuthorized)
	if a := h.lastAck("alice"); a.Reason != "blocked: you blocked bob; unblock first" {
		t.Fatalf("blocker's ack %+v", a)
	}
	// Typing, both ways.
	h.handle(dev("bob", "b1"), req("im/typing/d:alice:bob", `{"state":"start"}`), CodeNotAuthorized)
	h.handle(dev("alice", "a1"), req("im/typing/d:alice:bob", `{"state":"start"}`), CodeNotAuthorized)
	if len(h.rec.on(userTopic("alice", leafTyping)))+len(h.rec.on(userTopic("bob", leafTyping))) != 0 {
		t.Fatal("typing shown")
	}
	// Presence, both ways.
	for _, p := range [][2]string{{"bob", "alice"}, {"alice", "bob"}} {
		if h.svc.CanSubscribe(p[0], presenceTopic(p[1])) || h.svc.CanReceive(p[0], presenceTopic(p[1])) {
			t.Fatalf("%s sees %s's presence", p[0], p[1])
		}
	}
	if !h.svc.CanReceive("bob", presenceTopic("bob")) {
		t.Fatal("own presence hidden")
	}
	// The group is not affected.
	h.sendGroup("bob", g, "g1", "in the group")
	if es := h.envs(userTopic("alice", leafMsg)); len(es) != 1 || es[0].Body != "in the group" {
		t.Fatalf("group message %+v", es)
	}
	// conversations and block.list show the block.
	cs := h.rpc("alice", MethodConversations, map[string]any{}, CodeSuccess)["conversations"].([]any)
	for _, x := range cs {
		c := x.(map[string]any)
		if (c["blocked"] == true) != (c["conv"] == "d:alice:bob") {
			t.Fatalf("conversation %v", c)
		}
	}
	bl := h.rpc("alice", MethodBlockList, map[string]any{}, CodeSuccess)["blocked"].([]any)
	if len(bl) != 1 || bl[0].(map[string]any)["user"] != "bob" || bl[0].(map[string]any)["since"].(float64) != float64(h.clock.ms.Load()) {
		t.Fatalf("block.list %v", bl)
	}
	if bl := h.rpc("bob", MethodBlockList, map[string]any{}, CodeSuccess)["blocked"].([]any); len(bl) != 0 {
		t.Fatalf("bob's block.list %v", bl)
	}

	// Survives a restart (it is in the replicated store), then unblock.
	h.restart()
	h.handle(dev("bob", "b1"), req(sendTopic("alice"), sendBody("4", "still?")), CodeNotAuthorized)
	r = h.rpc("alice", MethodUnblock, map[string]any{"user": "bob"}, CodeSuccess)
	if r["blocked"] != false {
		t.Fatalf("unblock: %v", r)
	}
	if a := h.send("bob", "alice", "5", "back"); a.Seq != 2 {
		t.Fatalf("after unblock: %+v, want seq 2 (the refused sends took none)", a)
	}
	if !h.svc.CanSubscribe("bob", "im/presence/alice") {
		t.Fatal("presence still hidden after unblock")
	}
}

func TestBlockRefusals(t *testing.T) {
	h := newHarness(t)
	h.rpc("alice", MethodBlock, map[string]any{"user": "alice"}, CodeImplementation)
	h.rpc("alice", MethodBlock, map[string]any{}, CodePayloadFormat)
	h.rpc("alice", MethodBlock, map[string]any{"user": "a/b"}, CodePayloadFormat)
	h.rpc("alice", MethodUnblock, map[string]any{"user": ""}, CodePayloadFormat)
	// Notes to self are never blocked.
	h.send("alice", "alice", "n1", "note")
	// A full block list: 0x97, but re-blocking someone already blocked is fine.
	ops := make([]persist.Op, 0, maxBlocks)
	for i := range maxBlocks {
		ops = append(ops, persist.PutRawOp(blockKey("carol", fmt.Sprintf("u%d", i)), be64(1), 0))
	}
	h.write(t, ops...)
	h.rpc("carol", MethodBlock, map[string]any{"user": "dave"}, CodeQuotaExceeded)
	h.rpc("carol", MethodBlock, map[string]any{"user": "u7"}, CodeSuccess)
	h.handle(dev("u7", "u7-1"), req(sendTopic("carol"), sendBody("1", "x")), CodeNotAuthorized)
}

// TestBlockersIndex: the blocker markers (blockers.go) skip the block reads
// only for users who never blocked anyone. A block is seen at once (the
// apply observer) and after a restart (the scan of l/); unblocking keeps
// the marker and the exact check then answers.
func TestBlockersIndex(t *testing.T) {
	h := newHarness(t)
	h.send("bob", "alice", "1", "hi")
	if h.svc.blk.any("alice", "bob") {
		t.Fatal("blockers before any block")
	}
	h.rpc("alice", MethodBlock, map[string]any{"user": "bob"}, CodeSuccess)
	if !h.svc.blk.any("bob", "alice") {
		t.Fatal("the block's marker was not observed")
	}
	h.restart()
	if !h.svc.blk.any("carol", "alice") || h.svc.blk.any("bob", "carol") {
		t.Fatal("markers after a restart: want alice only")
	}
	h.handle(dev("bob", "b1"), req(sendTopic("alice"), sendBody("2", "hello?")), CodeNotAuthorized)
	h.rpc("alice", MethodUnblock, map[string]any{"user": "bob"}, CodeSuccess)
	if !h.svc.blk.any("alice", "bob") {
		t.Fatal("unblock removed the marker")
	}
	if a := h.send("bob", "alice", "3", "back"); !a.OK {
		t.Fatalf("send after unblock: %+v", a)
	}
}
