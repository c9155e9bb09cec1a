package im

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func seedStrings(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
		if len(s) > 1 {
			f.Add(s[:len(s)/2]) // split in the middle
			f.Add(s[len(s)/2:])
			f.Add(s + s[:1])
		}
	}
	f.Add("")
	f.Add("\xff\xfe")
}

var envelopeSeeds = []string{
	`{"seq":1,"id":"123","conv":"d:a:b","from":"a","to":"b","ts":1,"cid":"c","type":"text","body":"hi"}`,
	`{"seq":2,"id":"18446744073709551615","conv":"g:1","from":"a","ts":1,"type":"notice","notice":{"event":"created","by":"a","name":"G","users":["a","b"]}}`,
	`{"id":"1","conv":"g:1","from":"a","ts":1,"type":"text","body":"\u2028\"\\\u0000é\ud800"}`,
	`{"id":"-1","type":"text"}`, `{"id":"x"}`, `{"id":"1"}`, `{"id":"1","type":"notice","notice":{}}`,
	`[]`, `null`, `{"seq":-1}`, `{"id":"1","type":"t","ts":1e99}`,
	`{"seq":3,"id":"9","conv":"d:a:b","from":"a","ts":2,"type":"edit","body":"x","target":1,"edited_ts":2,"recalled":true}`,
	`{"seq":4,"id":"9","conv":"g:1","from":"a","ts":2,"type":"reaction","target":1,"emoji":"👍","remove":true}`,
}

func FuzzDecodeEnvelope(f *testing.F) {
	seedStrings(f, envelopeSeeds...)
	f.Fuzz(func(t *testing.T, in string) {
		e, err := DecodeEnvelope([]byte(in))
		if err != nil {
			return
		}
		out := e.AppendJSON(nil)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %s", out)
		}
		e2, err := DecodeEnvelope(out)
		if err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		if e.Notice != nil && len(e.Notice.Users) == 0 {
			e.Notice.Users = nil
		}
		if !reflect.DeepEqual(e, e2) {
			t.Fatalf("round trip:\n%+v\n%+v", e, e2)
		}
		// The stored form plus withSeq gives the same envelope.
		b, err := withSeq(nil, e.appendStored(nil), e.Seq)
		if err != nil || string(b) != string(out) {
			t.Fatalf("withSeq %s vs %s: %v", b, out, err)
		}
	})
}

// FuzzJSONString: the hand-written string encoder decodes to what
// encoding/json's encoding decodes to.
func FuzzJSONString(f *testing.F) {
	seedStrings(f, "plain", `"quoted" \back\`, "tab\tnl\n\x00\x1f\x7f", "é中😀", "\u2028\u2029", "bad\xffutf8\xc3", "<&>")
	f.Fuzz(func(t *testing.T, s string) {
		mine := appendJSONString(nil, s)
		var got, want string
		if err := json.Unmarshal(mine, &got); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, mine, err)
		}
		std, _ := json.Marshal(s)
		check(t, json.Unmarshal(std, &want))
		if got != want {
			t.Fatalf("%q: got %q, want %q", s, got, want)
		}
	})
}

func FuzzParseTopic(f *testing.F) {
	seedStrings(f, "im/send/user/bob", "im/send/group/1", "im/receipt/d:a:b", "im/typing/g:x", "im/rpc/sync",
		"im/rpc/group.create", "im/u/a/msg", "im/send/user/", "im/receipt/d:b:a", "$share/g/im/u/a/#", "im/presence/+", "im//", "im/send/user/a/b")
	f.Fuzz(func(t *testing.T, topic string) {
		u, err := parseUp(topic)
		if err != nil {
			return
		}
		if !IsIMTopic(topic) {
			t.Fatalf("%q parses but is not an im topic", topic)
		}
		switch u.kind {
		case upReceipt, upTyping:
			if !strings.HasSuffix(topic, "/"+u.conv.String()) {
				t.Fatalf("%q: conv %s does not round-trip", topic, u.conv)
			}
		case upSendUser, upSendGroup:
			if !ValidName(u.name) {
				t.Fatalf("%q: name %q", topic, u.name)
			}
		case upRPC:
			if !methods[u.method] {
				t.Fatalf("%q: method %q", topic, u.method)
			}
		}
		c, err := ParseConv(strings.TrimPrefix(topic, "im/receipt/"))
		if err == nil && c.String() != strings.TrimPrefix(topic, "im/receipt/") {
			t.Fatalf("conv %q round trip %q", topic, c)
		}
	})
}

func FuzzDecodePayloads(f *testing.F) {
	seedStrings(f, sendBody("c", "hi"), `{"cid":"c","type":"image","body":"u","reply_to":"im/u/a/r"}`,
		`{"type":"read","seq":3}`, `{"type":"delivered","seq":18446744073709551615}`, `{"state":"start"}`,
		`{"rid":"1","group":"g","users":["a","b"],"since":{"d:a:b":3},"to":{"all":true},"limit":5}`,
		`{"cid":1}`, `{"seq":-1}`, `{"limit":-5}`, `{"since":[]}`, `{}{}`, `nul`, `{"cid":"\u0000"}`)
	f.Fuzz(func(t *testing.T, in string) {
		if p, err := decodeSend([]byte(in), 64); err == nil {
			if p.CID == "" || len(p.CID) > maxCIDLen || p.Body == "" || len(p.Body) > 64 || !validType(p.Type) {
				t.Fatalf("accepted send %+v", p)
			}
		}
		if p, err := decodeReceipt([]byte(in)); err == nil && (p.Seq == 0 || (p.Type != ReceiptRead && p.Type != ReceiptDelivered)) {
			t.Fatalf("accepted receipt %+v", p)
		}
		if p, err := decodeTyping([]byte(in)); err == nil && p.State != TypingStart && p.State != TypingStop {
			t.Fatalf("accepted typing %+v", p)
		}
		if p, err := decodeRPC([]byte(in)); err == nil && (p.Limit < 0 || len(p.RID) > maxRIDLen) {
			t.Fatalf("accepted rpc %+v", p)
		}
	})
}

// FuzzACL: the access checks never panic, and never let a user at another
// user's tree.
func FuzzACL(f *testing.F) {
	h := newHarness(f)
	h.send("alice", "bob", "1", "x")
	for _, s := range []string{"im/u/alice/#", "im/u/bob/#", "im/u/+/msg", "$share/x/im/u/alice/msg", "im/presence/bob",
		"im/presence/+", "im/notify/all", "im/#", "#", "im/u/alice", "im/send/user/bob", "im/presence/"} {
		f.Add("alice", s)
		f.Add("bob", s)
	}
	f.Fuzz(func(t *testing.T, user, topic string) {
		pub, sub, recv := h.svc.CanPublish(user, topic), h.svc.CanSubscribe(user, topic), h.svc.CanReceive(user, topic)
		if (pub || sub || recv) && !ValidName(user) {
			t.Fatalf("invalid user %q allowed on %q", user, topic)
		}
		other := strings.HasPrefix(stripShare(topic), "im/u/") && !strings.HasPrefix(stripShare(topic), "im/u/"+user+"/") && stripShare(topic) != "im/u/"+user
		if (sub || recv) && other {
			t.Fatalf("%q may read %q", user, topic)
		}
		if pub && !IsIMTopic(topic) {
			t.Fatalf("%q may publish %q", user, topic)
		}
		if pub && (strings.HasPrefix(topic, "im/u/") || strings.HasPrefix(topic, "im/presence/") || strings.HasPrefix(topic, "im/notify/") ||
			!strings.HasPrefix(topic, "im/") && topic != "im") {
			t.Fatalf("%q may publish into the server's tree %q", user, topic)
		}
	})
}

// FuzzHandle feeds whole requests to a real service: no panic (Handle would
// answer "internal error"), and every refusal has a reason.
func FuzzHandle(f *testing.F) {
	h := newHarness(f)
	g := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"bob"}}, CodeSuccess)["group"].(string)
	seeds := [][2]string{
		{sendTopic("bob"), sendBody("c1", "hi")},
		{groupTopic(g), sendBody("c2", "hi")},
		{"im/receipt/g:" + g, `{"type":"read","seq":1}`},
		{"im/typing/d:alice:bob", `{"state":"start"}`},
		{rpcTopic(MethodHistory), `{"conv":"g:` + g + `","before":3,"limit":2}`},
		{rpcTopic(MethodSync), `{"since":{"d:alice:bob":0},"limit":1}`},
		{rpcTopic(MethodConversations), ``},
		{rpcTopic(MethodGroupMembers), `{"group":"` + g + `"}`},
		{rpcTopic(MethodGroupKick), `{"group":"` + g + `","user":"bob"}`},
		{rpcTopic(MethodGroupRename), `{"group":"` + g + `","name":"\ud800"}`},
		{rpcTopic(MethodNotify), `{"to":{"all":true},"body":"x"}`},
		{"im/rpc/x", `{`}, {"im/u/bob/msg", `{}`}, {"im/send/user/bob", `{"cid":"x","body":1}`},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, topic, payload string) {
		out := h.svc.Handle(bg(), dev("alice", "a1"), Request{Topic: topic, Payload: []byte(payload), QoS: 1})
		if out.Reason == ErrInternal.Error() {
			t.Fatalf("%q %q: internal error", topic, payload)
		}
		if !out.OK() && out.Reason == "" {
			t.Fatalf("%q %q: refusal without reason %+v", topic, payload, out)
		}
		h.rec.take()
	})
}
