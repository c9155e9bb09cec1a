package im

import (
	"encoding/json"
	"fmt"
	"testing"
)

type receiptMsg struct {
	Conv string `json:"conv"`
	User string `json:"user"`
	Type string `json:"type"`
	Seq  uint64 `json:"seq"`
	TS   int64  `json:"ts"`
}

func receiptsOn(t *testing.T, h *harness, user string) []receiptMsg {
	t.Helper()
	var out []receiptMsg
	for _, d := range h.rec.on(userTopic(user, leafReceipt)) {
		var r receiptMsg
		if err := json.Unmarshal(d.Payload, &r); err != nil {
			t.Fatalf("receipt %s: %v", d.Payload, err)
		}
		out = append(out, r)
	}
	return out
}

func convByID(t *testing.T, h *harness, user, conv string) map[string]any {
	t.Helper()
	for _, x := range h.rpc(user, MethodConversations, map[string]any{}, CodeSuccess)["conversations"].([]any) {
		if m := x.(map[string]any); m["conv"] == conv {
			return m
		}
	}
	t.Fatalf("%s has no conversation %s", user, conv)
	return nil
}

func num(m map[string]any, k string) uint64 {
	f, _ := m[k].(float64)
	return uint64(f)
}

func TestReceiptsAndUnread(t *testing.T) {
	h := newHarness(t)
	for i := 1; i <= 5; i++ {
		h.send("alice", "bob", fmt.Sprint(i), "m")
	}
	const conv = "d:alice:bob"
	// The sender's own messages are read by the sender.
	a := convByID(t, h, "alice", conv)
	b := convByID(t, h, "bob", conv)
	if num(a, "unread") != 0 || num(a, "read") != 5 || num(b, "unread") != 5 || num(b, "read") != 0 || b["peer"] != "alice" || b["kind"] != "direct" {
		t.Fatalf("before receipts: alice %v bob %v", a, b)
	}
	h.rec.take()
	h.handle(dev("bob", "b1"), req("im/receipt/"+conv, `{"type":"delivered","seq":5}`), CodeSuccess)
	h.handle(dev("bob", "b1"), req("im/receipt/"+conv, `{"type":"read","seq":3}`), CodeSuccess)
	// alice (the sender) and bob's other devices are told; no acks for accepted receipts.
	for _, u := range []string{"alice", "bob"} {
		rs := receiptsOn(t, h, u)
		if len(rs) != 2 || rs[0] != (receiptMsg{conv, "bob", "delivered", 5, rs[0].TS}) || rs[1] != (receiptMsg{conv, "bob", "read", 3, rs[1].TS}) {
			t.Fatalf("%s receipts %+v", u, rs)
		}
	}
	if n := len(h.rec.on(userTopic("bob", leafAck))); n != 0 {
		t.Fatalf("accepted receipts acked %d times", n)
	}
	// A cursor never goes back, and a receipt that moves nothing tells nobody.
	h.rec.take()
	h.handle(dev("bob", "b2"), req("im/receipt/"+conv, `{"type":"read","seq":2}`), CodeSuccess)
	h.handle(dev("bob", "b2"), req("im/receipt/"+conv, `{"type":"delivered","seq":4}`), CodeSuccess)
	if n := len(h.rec.take()); n != 0 {
		t.Fatalf("stale receipts published %d", n)
	}
	b = convByID(t, h, "bob", conv)
	if num(b, "unread") != 2 || num(b, "read") != 3 || num(b, "delivered") != 5 {
		t.Fatalf("bob after receipts %v", b)
	}
	a = convByID(t, h, "alice", conv)
	if num(a, "peer_read") != 3 || num(a, "peer_delivered") != 5 {
		t.Fatalf("alice sees %v", a)
	}
	// Read implies delivered; a new message from bob marks bob's cursors.
	h.send("bob", "alice", "r", "reply")
	b = convByID(t, h, "bob", conv)
	if num(b, "unread") != 0 || num(b, "read") != 6 {
		t.Fatalf("bob after replying %v", b)
	}
	if a = convByID(t, h, "alice", conv); num(a, "unread") != 1 {
		t.Fatalf("alice after bob's reply %v", a)
	}
	h.handle(dev("alice", "a1"), req("im/receipt/"+conv, `{"type":"read","seq":6}`), CodeSuccess)
	if a = convByID(t, h, "alice", conv); num(a, "unread") != 0 || num(a, "delivered") != 6 {
		t.Fatalf("alice after read %v", a)
	}
}

func TestGroupReceiptsTellAuthors(t *testing.T) {
	h := newHarness(t)
	g := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"bob", "carol"}}, CodeSuccess)["group"].(string)
	conv := "g:" + g
	h.sendGroup("alice", g, "1", "a") // 2
	h.sendGroup("bob", g, "1", "b")   // 3
	h.rec.take()
	h.handle(dev("carol", "c1"), req("im/receipt/"+conv, `{"type":"read","seq":2}`), CodeSuccess)
	if len(receiptsOn(t, h, "alice")) != 1 || len(receiptsOn(t, h, "bob")) != 0 || len(receiptsOn(t, h, "carol")) != 1 {
		t.Fatalf("after read 2: %+v", h.rec.take())
	}
	h.rec.take()
	h.handle(dev("carol", "c1"), req("im/receipt/"+conv, `{"type":"read","seq":3}`), CodeSuccess)
	if len(receiptsOn(t, h, "alice")) != 0 || len(receiptsOn(t, h, "bob")) != 1 {
		t.Fatalf("after read 3: %+v", h.rec.take())
	}
	c := convByID(t, h, "carol", conv)
	if num(c, "unread") != 0 || num(c, "last_seq") != 3 || c["group"] != g {
		t.Fatalf("carol %v", c)
	}
}

func TestTyping(t *testing.T) {
	h := newHarness(t)
	h.handle(dev("alice", "a1"), req("im/typing/d:alice:bob", `{"state":"start"}`), CodeSuccess)
	ds := h.rec.take()
	if len(ds) != 1 || ds[0].Topic != "im/u/bob/typing" || ds[0].QoS != 0 || ds[0].Retain {
		t.Fatalf("typing deliveries %+v", ds)
	}
	var m map[string]any
	check(t, json.Unmarshal(ds[0].Payload, &m))
	if m["conv"] != "d:alice:bob" || m["from"] != "alice" || m["state"] != "start" {
		t.Fatalf("typing %v", m)
	}
	if last, _ := h.svc.lastSeq("d:alice:bob"); last != 0 {
		t.Fatal("typing was stored")
	}
	h.handle(dev("carol", "c1"), req("im/typing/d:alice:bob", `{"state":"start"}`), CodeNotAuthorized)
}
