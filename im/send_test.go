package im

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDirectSendSeqAndAck(t *testing.T) {
	h := newHarness(t)
	var lastID uint64
	for i := 1; i <= 5; i++ {
		h.clock.advance(time.Millisecond)
		a := h.send("alice", "bob", "c"+strconv.Itoa(i), "hello "+strconv.Itoa(i))
		id, err := strconv.ParseUint(a.ID, 10, 64)
		check(t, err)
		if !a.OK || a.Code != 0 || a.Seq != uint64(i) || a.Conv != "d:alice:bob" || a.CID != "c"+strconv.Itoa(i) || a.Dup {
			t.Fatalf("ack %d: %+v", i, a)
		}
		if id <= lastID || IDNode(id) != 7 || IDTime(id).UnixMilli() != h.clock.ms.Load() || a.TS != h.clock.ms.Load() {
			t.Fatalf("ack %d: id %d (node %d, time %v) after %d, ts %d", i, id, IDNode(id), IDTime(id), lastID, a.TS)
		}
		lastID = id
	}
	// bob replies in the same conversation: next seq.
	if a := h.send("bob", "alice", "b1", "hi alice"); a.Seq != 6 || a.Conv != "d:alice:bob" {
		t.Fatalf("reply ack %+v", a)
	}
	// Every message reached both users' msg topics (all devices of each), in order.
	for _, u := range []string{"alice", "bob"} {
		es := h.envs(userTopic(u, leafMsg))
		if got := seqs(es); len(got) != 6 || got[0] != 1 || got[5] != 6 {
			t.Fatalf("%s got seqs %v", u, got)
		}
		for i, e := range es[:5] {
			if e.From != "alice" || e.To != "bob" || e.Conv != "d:alice:bob" || e.Body != "hello "+strconv.Itoa(i+1) || e.Type != TypeText {
				t.Fatalf("%s envelope %d: %+v", u, i, e)
			}
		}
		if es[5].From != "bob" || es[5].To != "alice" {
			t.Fatalf("%s reply envelope %+v", u, es[5])
		}
	}
	for _, d := range h.rec.on(userTopic("bob", leafMsg)) {
		if d.QoS != 1 || d.Retain {
			t.Fatalf("delivery %+v", d)
		}
	}
	// Notes to self work too: one member.
	if a := h.send("carol", "carol", "n1", "note"); a.Conv != "d:carol:carol" || a.Seq != 1 {
		t.Fatalf("self ack %+v", a)
	}
	if n := len(h.envs(userTopic("carol", leafMsg))); n != 1 {
		t.Fatalf("self delivered %d times", n)
	}
}

func TestDedupResend(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *Options) { c.DedupWindow = time.Hour })
	first := h.send("alice", "bob", "same", "one")
	h.rec.take()
	h.clock.advance(time.Second)
	again := h.send("alice", "bob", "same", "one, edited") // same cid: same message
	if !again.Dup || again.ID != first.ID || again.Seq != first.Seq || again.TS != first.TS {
		t.Fatalf("resend ack %+v, first %+v", again, first)
	}
	if n := len(h.rec.on(userTopic("bob", leafMsg))); n != 0 {
		t.Fatalf("resend delivered %d copies", n)
	}
	// Another sender with the same cid is another message; so is another conversation.
	if a := h.send("bob", "alice", "same", "bob's"); a.Dup || a.Seq != 2 {
		t.Fatalf("bob's ack %+v", a)
	}
	if a := h.send("alice", "carol", "same", "x"); a.Dup || a.Seq != 1 {
		t.Fatalf("other conversation ack %+v", a)
	}
	// The dedup record is swept only after the window; then the cid is new.
	n, _, err := h.svc.sweepOnce(bg(), nil)
	if err != nil || n != 0 {
		t.Fatalf("early sweep: %d %v", n, err)
	}
	if a := h.send("alice", "bob", "same", "one"); !a.Dup {
		t.Fatalf("before expiry: %+v", a)
	}
	h.clock.advance(2 * time.Hour)
	n, _, err = h.svc.sweepOnce(bg(), nil)
	if err != nil || n != 3 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if a := h.send("alice", "bob", "same", "one"); a.Dup || a.Seq != 3 {
		t.Fatalf("after the window: %+v", a)
	}
}

// TestSpoofing: the sender is always Client.User; nobody publishes into the
// down tree; a reply topic outside the user's own tree is refused.
func TestSpoofing(t *testing.T) {
	h := newHarness(t)
	h.handle(dev("mallory", "m1"), req(sendTopic("bob"), `{"cid":"x","body":"hi","from":"alice","conv":"d:alice:bob","id":"1"}`), CodeSuccess)
	es := h.envs(userTopic("bob", leafMsg))
	if len(es) != 1 || es[0].From != "mallory" || es[0].Conv != "d:bob:mallory" {
		t.Fatalf("envelopes %+v", es)
	}
	for _, topic := range []string{"im/u/bob/msg", "im/u/bob/ack", "im/presence/bob", "im/notify/all", "im/u/mallory/msg"} {
		if h.svc.CanPublish("mallory", topic) {
			t.Fatalf("CanPublish(%s)", topic)
		}
		h.handle(dev("mallory", "m1"), req(topic, sendBody("y", "z")), CodeTopicNameInvalid)
	}
	h.rec.take()
	// Reply topics: the MQTT 5 Response Topic and reply_to must be under im/u/mallory/.
	r := req(sendTopic("bob"), sendBody("z1", "hi"))
	r.ResponseTopic = "im/u/bob/msg"
	h.handle(dev("mallory", "m1"), r, CodeTopicNameInvalid)
	h.handle(v3("mallory", "m2"), req(sendTopic("bob"), `{"cid":"z2","body":"hi","reply_to":"im/u/bob/ack"}`), CodeTopicNameInvalid)
	h.handle(v3("mallory", "m2"), req(rpcTopic(MethodConversations), `{"reply_to":"devices/x/cmd"}`), CodeTopicNameInvalid)
	for _, d := range h.rec.take() {
		if !strings.HasPrefix(d.Topic, "im/u/mallory/") {
			t.Fatalf("published to %s", d.Topic)
		}
	}
	if last, _ := h.svc.lastSeq("d:bob:mallory"); last != 1 {
		t.Fatalf("refused sends were stored: last seq %d", last)
	}
}

func TestSendRefusals(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *Options) { c.MaxBodyBytes = 16 })
	cases := []struct {
		name, topic, payload string
		code                 byte
	}{
		{"not json", sendTopic("bob"), `hello`, CodePayloadFormat},
		{"json array", sendTopic("bob"), `[1]`, CodePayloadFormat},
		{"trailing", sendTopic("bob"), `{"cid":"a","body":"b"} {}`, CodePayloadFormat},
		{"no cid", sendTopic("bob"), `{"body":"b"}`, CodePayloadFormat},
		{"control in cid", sendTopic("bob"), `{"cid":"a\u0001","body":"b"}`, CodePayloadFormat},
		{"empty body", sendTopic("bob"), `{"cid":"a"}`, CodePayloadFormat},
		{"reserved type", sendTopic("bob"), `{"cid":"a","type":"notice","body":"b"}`, CodePayloadFormat},
		{"bad type", sendTopic("bob"), `{"cid":"a","type":"Big Type","body":"b"}`, CodePayloadFormat},
		{"body too large", sendTopic("bob"), `{"cid":"a","body":"` + strings.Repeat("x", 17) + `"}`, CodeQuotaExceeded},
		{"payload too large", sendTopic("bob"), strings.Repeat(" ", 6*16+4097), CodeQuotaExceeded},
		{"bad user", "im/send/user/b+b", sendBody("a", "b"), CodeTopicNameInvalid},
		{"extra level", "im/send/user/bob/x", sendBody("a", "b"), CodeTopicNameInvalid},
		{"unknown kind", "im/send/room/x", sendBody("a", "b"), CodeTopicNameInvalid},
		{"unknown level", "im/nothing", sendBody("a", "b"), CodeTopicNameInvalid},
		{"bare im", "im", sendBody("a", "b"), CodeTopicNameInvalid},
		{"no level", "im/", sendBody("a", "b"), CodeTopicNameInvalid},
		{"not a member", groupTopic("123"), sendBody("a", "b"), CodeNotAuthorized},
		{"bad receipt", "im/receipt/d:alice:bob", `{"type":"seen","seq":1}`, CodePayloadFormat},
		{"receipt seq 0", "im/receipt/d:alice:bob", `{"type":"read","seq":0}`, CodePayloadFormat},
		{"receipt ahead", "im/receipt/d:alice:bob", `{"type":"read","seq":5}`, CodeImplementation},
		{"receipt not member", "im/receipt/d:bob:carol", `{"type":"read","seq":1}`, CodeNotAuthorized},
		{"unsorted conv", "im/receipt/d:bob:alice", `{"type":"read","seq":1}`, CodeTopicNameInvalid},
		{"typing bad", "im/typing/d:alice:bob", `{"state":"maybe"}`, CodePayloadFormat},
		{"typing not member", "im/typing/g:1", `{"state":"start"}`, CodeNotAuthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.rec.take()
			out := h.svc.Handle(bg(), dev("alice", "a1"), req(tc.topic, tc.payload))
			if out.Code != tc.code || out.Reason == "" {
				t.Fatalf("outcome %#x %q, want %#x", out.Code, out.Reason, tc.code)
			}
			a := h.lastAck("alice")
			if a.OK || a.Code != int(tc.code) || a.Reason != out.Reason || a.Topic != tc.topic {
				t.Fatalf("ack %+v for outcome %+v", a, out)
			}
			if n := len(h.rec.on(userTopic("bob", leafMsg))); n != 0 {
				t.Fatalf("refused message delivered")
			}
		})
	}
	// No usable user name: refused without an ack (there is no tree to answer in).
	h.rec.take()
	if out := h.svc.Handle(bg(), dev("", "anon"), req(sendTopic("bob"), sendBody("a", "b"))); out.Code != CodeNotAuthorized {
		t.Fatalf("anonymous: %+v", out)
	}
	if out := h.svc.Handle(bg(), dev("a/b", "x"), req(sendTopic("bob"), sendBody("a", "b"))); out.Code != CodeNotAuthorized {
		t.Fatalf("bad user name: %+v", out)
	}
	if ds := h.rec.take(); len(ds) != 0 {
		t.Fatalf("published %+v", ds)
	}
}

// maskFilter rejects "spam" and masks "darn".
type maskFilter struct{}

func (maskFilter) Filter(s string) (string, bool) {
	if strings.Contains(s, "spam") {
		return "", true
	}
	return strings.ReplaceAll(s, "darn", "****"), false
}

func TestFilter(t *testing.T) {
	h := newHarness(t, func(_ *Config, o *Options) { o.Filter = maskFilter{} })
	h.handle(dev("alice", "a1"), req(sendTopic("bob"), sendBody("1", "buy spam now")), CodeImplementation)
	if a := h.lastAck("alice"); a.OK || a.Reason != ErrRejected.Error() || a.CID != "1" {
		t.Fatalf("reject ack %+v", a)
	}
	if a := h.send("alice", "bob", "2", "darn it"); a.Seq != 1 {
		t.Fatalf("masked ack %+v", a)
	}
	es := h.envs(userTopic("bob", leafMsg))
	if len(es) != 1 || es[0].Body != "**** it" {
		t.Fatalf("delivered %+v", es)
	}
	m := h.rpc("bob", MethodHistory, map[string]any{"conv": "d:alice:bob"}, CodeSuccess)
	if hs := msgsOf(t, m["messages"]); len(hs) != 1 || hs[0].Body != "**** it" {
		t.Fatalf("stored %+v", hs)
	}
}

// budget allows n requests per user.
type budget struct {
	mu   sync.Mutex
	left map[string]int
	n    int
}

func (b *budget) Allow(user string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left == nil {
		b.left = map[string]int{}
	}
	if _, ok := b.left[user]; !ok {
		b.left[user] = b.n
	}
	b.left[user]--
	return b.left[user] >= 0
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, func(_ *Config, o *Options) { o.Limiter = &budget{n: 2} })
	h.send("alice", "bob", "1", "a")
	h.send("alice", "bob", "2", "b")
	h.handle(dev("alice", "a1"), req(sendTopic("bob"), sendBody("3", "c")), CodeMessageRateTooHigh)
	if a := h.lastAck("alice"); a.OK || a.Code != int(CodeMessageRateTooHigh) || a.Reason != "rate limited" {
		t.Fatalf("ack %+v", a)
	}
	h.handle(dev("alice", "a1"), req(rpcTopic(MethodConversations), `{}`), CodeMessageRateTooHigh)
	// Other users have their own budget.
	h.send("bob", "alice", "1", "x")
}

type pushRec struct {
	mu  sync.Mutex
	evs []PushEvent
}

func (p *pushRec) Push(ev PushEvent) {
	p.mu.Lock()
	p.evs = append(p.evs, ev)
	p.mu.Unlock()
}

func (p *pushRec) take() []PushEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.evs
	p.evs = nil
	return out
}

func TestPushOfflineOnly(t *testing.T) {
	pr := &pushRec{}
	h := newHarness(t, func(_ *Config, o *Options) { o.Push = pr })
	check(t, h.svc.Connected(dev("alice", "a1")))
	a := h.send("alice", "bob", "1", strings.Repeat("é", 100)) // bob offline
	evs := pr.take()
	if len(evs) != 1 {
		t.Fatalf("push events %+v", evs)
	}
	ev := evs[0]
	if ev.User != "bob" || ev.From != "alice" || ev.Conv != "d:alice:bob" || ev.Seq != 1 || strconv.FormatUint(ev.ID, 10) != a.ID ||
		ev.TS != a.TS || ev.Preview != strings.Repeat("é", previewRunes)+"…" {
		t.Fatalf("push %+v", ev)
	}
	check(t, h.svc.Connected(dev("bob", "b1")))
	h.send("alice", "bob", "2", "x")
	if evs := pr.take(); len(evs) != 0 {
		t.Fatalf("pushed to an online user: %+v", evs)
	}
	h.svc.Disconnected(dev("bob", "b1"))
	h.send("alice", "bob", "3", "y")
	if evs := pr.take(); len(evs) != 1 || evs[0].User != "bob" {
		t.Fatalf("after disconnect: %+v", evs)
	}
	// A dup is not pushed again.
	h.send("alice", "bob", "3", "y")
	if evs := pr.take(); len(evs) != 0 {
		t.Fatalf("dup pushed: %+v", evs)
	}
}

// TestReplies: MQTT 5 Response Topic + Correlation Data, and reply_to for 3.1.1.
func TestReplies(t *testing.T) {
	h := newHarness(t)
	r := req(rpcTopic(MethodConversations), `{"rid":"r1"}`)
	r.ResponseTopic = "im/u/alice/replies/7"
	r.CorrelationData = []byte{1, 2, 3}
	h.handle(dev("alice", "a1"), r, CodeSuccess)
	ds := h.rec.on("im/u/alice/replies/7")
	if len(ds) != 1 || !bytes.Equal(ds[0].CorrelationData, []byte{1, 2, 3}) || !bytes.Contains(ds[0].Payload, []byte(`"rid":"r1"`)) {
		t.Fatalf("v5 reply %+v", ds)
	}
	h.handle(v3("alice", "a2"), req(rpcTopic(MethodConversations), `{"rid":"r2","reply_to":"im/u/alice/r"}`), CodeSuccess)
	if ds := h.rec.on("im/u/alice/r"); len(ds) != 1 || !bytes.Contains(ds[0].Payload, []byte(`"rid":"r2"`)) {
		t.Fatalf("v3 reply %+v", ds)
	}
	// Without a reply topic: im/u/{user}/rpc.
	h.handle(v3("alice", "a2"), req(rpcTopic(MethodConversations), ``), CodeSuccess)
	if ds := h.rec.on("im/u/alice/rpc"); len(ds) != 1 {
		t.Fatalf("default reply %+v", ds)
	}
	// A send with reply_to is acked on the ack topic and on reply_to.
	h.handle(v3("alice", "a2"), req(sendTopic("bob"), `{"cid":"k","body":"b","reply_to":"im/u/alice/acks"}`), CodeSuccess)
	if len(h.rec.on("im/u/alice/acks")) != 1 || len(h.rec.on("im/u/alice/ack")) != 1 {
		t.Fatalf("send acks %+v", h.rec.take())
	}
	// Unknown method: refused on the default rpc topic.
	h.rec.take()
	h.handle(v3("alice", "a2"), req("im/rpc/nope", `{}`), CodeTopicNameInvalid)
	if ds := h.rec.on("im/u/alice/rpc"); len(ds) != 1 || !bytes.Contains(ds[0].Payload, []byte(`"ok":false`)) {
		t.Fatalf("unknown method reply %+v", ds)
	}
}
