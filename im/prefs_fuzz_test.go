package im

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
)

// FuzzDecodeMentions: the "mentions" field of a send either decodes to valid,
// distinct names (or all) or is refused with ErrBadPayload; the encoded form
// decodes to the same.
func FuzzDecodeMentions(f *testing.F) {
	seedStrings(f, `["bob"]`, `"all"`, `["bob","bob","carol"]`, `null`, `[]`, `"ALL"`, `[1]`, `{"a":1}`,
		`["a/b"]`, `["`+string(make([]byte, 70))+`"]`, ` [ "x" ] `, `[null]`, `true`, `["é"]`)
	f.Fuzz(func(t *testing.T, in string) {
		names, all, err := decodeMentions(json.RawMessage(in))
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("%q: %v does not wrap ErrBadPayload", in, err)
			}
			return
		}
		if all && len(names) > 0 || len(names) > maxMentions {
			t.Fatalf("%q: names %v all %v", in, names, all)
		}
		for i, n := range names {
			if !ValidName(n) || slices.Contains(names[:i], n) {
				t.Fatalf("%q: name %q invalid or repeated", in, n)
			}
		}
		e := Envelope{ID: 1, Type: TypeText, Mentions: names, MentionAll: all}
		e2, err := DecodeEnvelope(e.AppendJSON(nil))
		if err != nil || e2.MentionAll != all || !slices.Equal(e2.Mentions, names) {
			t.Fatalf("%q: round trip %+v: %v", in, e2, err)
		}
	})
}

// FuzzEnvelopeMentions: envelopes carrying mentions round-trip.
func FuzzEnvelopeMentions(f *testing.F) {
	seedStrings(f,
		`{"seq":3,"id":"9","conv":"g:1","from":"a","ts":1,"cid":"c","type":"text","body":"hi @b","mentions":["b","c"]}`,
		`{"seq":3,"id":"9","conv":"g:1","from":"a","ts":1,"type":"text","body":"all","mentions":"all"}`,
		`{"id":"9","type":"text","mentions":"none"}`, `{"id":"9","type":"text","mentions":[""]}`,
		`{"id":"9","type":"text","mentions":{}}`)
	f.Fuzz(func(t *testing.T, in string) {
		e, err := DecodeEnvelope([]byte(in))
		if err != nil {
			return
		}
		out := e.AppendJSON(nil)
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
		if m := withMention(out); !json.Valid(m) {
			t.Fatalf("withMention %s", m)
		}
	})
}

// FuzzDecodeSettingsPatch: the "set" object of conversation.set decodes to
// at least one change that makes sense, or is refused with ErrBadPayload;
// its ops never panic.
func FuzzDecodeSettingsPatch(f *testing.F) {
	seedStrings(f, `{"mute":true}`, `{"mute":false}`, `{"mute_until":1750000000000}`, `{"mute":false,"mute_until":5}`,
		`{"pin":true,"archive":false,"name":"Mum"}`, `{"name":""}`, `{"name":"\u0000"}`, `{}`, `null`, `[]`,
		`{"mute_until":-1}`, `{"mute":"yes"}`, `{"pin":true} {}`, `{"mute_until":1e30}`)
	f.Fuzz(func(t *testing.T, in string) {
		p, err := decodeSettingsPatch(json.RawMessage(in))
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("%q: %v does not wrap ErrBadPayload", in, err)
			}
			return
		}
		ops := p.ops("alice", "d:alice:bob", 1)
		if len(ops) == 0 {
			t.Fatalf("%q: accepted without a change", in)
		}
		if p.Name != nil && (len(*p.Name) > maxConvNameLen || !printable(*p.Name)) {
			t.Fatalf("%q: name %q accepted", in, *p.Name)
		}
		if p.MuteUntil != nil && *p.MuteUntil <= 0 {
			t.Fatalf("%q: mute_until %d accepted", in, *p.MuteUntil)
		}
	})
}

// FuzzHandlePrefs feeds block, settings and mention requests to a real
// service: no panic, every refusal has a reason.
func FuzzHandlePrefs(f *testing.F) {
	h := newHarness(f)
	g := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"bob"}}, CodeSuccess)["group"].(string)
	for _, s := range [][2]string{
		{rpcTopic(MethodBlock), `{"user":"bob"}`},
		{rpcTopic(MethodUnblock), `{"user":"bob"}`},
		{rpcTopic(MethodBlockList), ``},
		{rpcTopic(MethodConvSet), `{"conv":"d:alice:bob","set":{"mute":true,"pin":true,"name":"B"}}`},
		{rpcTopic(MethodConvSet), `{"conv":"g:` + g + `","set":{"mute_until":1750000009999}}`},
		{rpcTopic(MethodConvSet), `{"conv":"g:` + g + `","set":null}`},
		{groupTopic(g), `{"cid":"m1","body":"@bob","mentions":["bob","x"]}`},
		{groupTopic(g), `{"cid":"m2","body":"@all","mentions":"all"}`},
		{sendTopic("bob"), `{"cid":"m3","body":"x","mentions":["bob"]}`},
		{"im/typing/d:alice:bob", `{"state":"stop"}`},
	} {
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
