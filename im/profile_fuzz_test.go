package im

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzProfileSet: a profile.set payload is refused with ErrBadPayload or
// yields fields within their bounds that round-trip through JSON and through
// the stored form (ops, then profile.set of each put).
func FuzzProfileSet(f *testing.F) {
	seedStrings(f, `{"display_name":"Alice"}`, `{"display_name":"","avatar":"","status":""}`,
		`{"avatar":"https://cdn.example.com/a.png?x=1#f"}`, `{"avatar":"https://@x/"}`, `{"avatar":"https://:443/"}`,
		`{"status":"on \u202e holiday"}`, `{"display_name":" x"}`, `{"display_name":null}`, `{"status":1}`,
		`{"display_name":"a\u0000b"}`, `{"avatar":"https://a.b/\u00e9"}`, `{}`, `[]`, `{"display_name":"\ud800"}`,
		`{"rid":"r","display_name":"Zoë 🌷","status":"`+strings.Repeat("ü", 140)+`"}`)
	f.Fuzz(func(t *testing.T, in string) {
		req, err := decodeRPC([]byte(in))
		if err == nil {
			err = checkProfilePatch(&req.profileFields)
		}
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("%q: %v does not wrap ErrBadPayload", in, err)
			}
			return
		}
		pf := req.profileFields
		for _, v := range []*string{pf.DisplayName, pf.Status, pf.Avatar} {
			if v != nil && (!utf8.ValidString(*v) || len(*v) > maxAvatarLen) {
				t.Fatalf("%q: field %q accepted", in, *v)
			}
		}
		if pf.DisplayName != nil && utf8.RuneCountInString(*pf.DisplayName) > maxDisplayNameRunes {
			t.Fatalf("%q: long display name accepted", in)
		}
		if pf.Avatar != nil && *pf.Avatar != "" && !strings.HasPrefix(*pf.Avatar, "https://") {
			t.Fatalf("%q: avatar %q accepted", in, *pf.Avatar)
		}
		// JSON round trip.
		b, err := json.Marshal(pf)
		if err != nil {
			t.Fatal(err)
		}
		var again rpcRequest
		if again, err = decodeRPC(b); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if err := checkProfilePatch(&again.profileFields); err != nil {
			t.Fatalf("re-check %s: %v", b, err)
		}
		// Stored form: the puts read back as the fields set.
		var p profile
		for _, op := range pf.ops("alice", 42) {
			_, field, _ := cutLast(string(op.Key))
			p.set(field, op.Value)
		}
		if p.Updated != 42 || pf.DisplayName != nil && p.DisplayName != *pf.DisplayName ||
			pf.Status != nil && p.Status != *pf.Status || pf.Avatar != nil && p.Avatar != *pf.Avatar {
			t.Fatalf("%q: stored form %+v", in, p)
		}
	})
}

// FuzzProfileGet: the users of profile.get are refused with ErrBadPayload or
// are 1..maxProfileGet distinct valid names.
func FuzzProfileGet(f *testing.F) {
	seedStrings(f, `{"users":["bob"]}`, `{"users":["bob","bob","carol"]}`, `{}`, `{"users":[]}`,
		`{"users":["a/b"]}`, `{"users":"bob"}`, `{"users":[null]}`, `{"users":[1]}`, `{"users":["`+strings.Repeat("x", 65)+`"]}`)
	f.Fuzz(func(t *testing.T, in string) {
		req, err := decodeRPC([]byte(in))
		var users []string
		if err == nil {
			users, err = decodeProfileUsers("me", req.Users)
		}
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("%q: %v does not wrap ErrBadPayload", in, err)
			}
			return
		}
		if len(users) == 0 || len(users) > maxProfileGet {
			t.Fatalf("%q: %d users", in, len(users))
		}
		for i, u := range users {
			if !ValidName(u) || slices.Contains(users[:i], u) {
				t.Fatalf("%q: user %q invalid or repeated", in, u)
			}
		}
	})
}
