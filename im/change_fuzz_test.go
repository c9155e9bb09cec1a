package im

import (
	"errors"
	"testing"
)

// FuzzChangePayload: the rpc payloads of msg.edit, msg.recall and msg.react
// decode and check without panicking, and an accepted one holds what the
// handlers rely on.
func FuzzChangePayload(f *testing.F) {
	seedStrings(f,
		`{"conv":"d:alice:bob","seq":1,"body":"fixed"}`,
		`{"conv":"g:123","seq":18446744073709551615}`,
		`{"conv":"g:1","seq":2,"emoji":"👍","remove":true,"rid":"r"}`,
		`{"conv":"d:bob:alice","seq":1}`, `{"conv":"g:1","seq":0,"emoji":""}`,
		`{"conv":"g:1","seq":-1}`, `{"conv":"g:1","seq":1,"emoji":"\u0000"}`,
		`{"conv":"g:1","seq":1.5}`, `{"seq":"1"}`, `[]`, `{"conv":"g:1","seq":1,"body":"\ud800"}`,
	)
	f.Fuzz(func(t *testing.T, in string) {
		req, err := decodeRPC([]byte(in))
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("decode error %v is not ErrBadPayload", err)
			}
			return
		}
		if conv, body, err := checkEdit(&req, 64); err == nil {
			if req.Seq == 0 || body == "" || len(body) > 64 || conv.String() != req.Conv {
				t.Fatalf("edit accepted %+v", req)
			}
		} else if out := outcomeOf(err); out.Code != CodePayloadFormat && out.Code != CodeQuotaExceeded {
			t.Fatalf("edit refusal %v: code %#x", err, out.Code)
		}
		if conv, err := checkReact(&req); err == nil {
			if req.Seq == 0 || req.Emoji == "" || len(req.Emoji) > maxEmojiLen || !printable(req.Emoji) || conv.String() != req.Conv {
				t.Fatalf("react accepted %+v", req)
			}
		} else if !errors.Is(err, ErrBadPayload) {
			t.Fatalf("react refusal %v", err)
		}
		if _, err := checkTarget(&req); err != nil && !errors.Is(err, ErrBadPayload) {
			t.Fatalf("recall refusal %v", err)
		}
	})
}
