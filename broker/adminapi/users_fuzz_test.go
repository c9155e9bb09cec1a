package adminapi

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzUserBodies: the POST and PATCH /api/v1/users bodies either decode or
// fail with ErrInvalidBody; never a panic.
func FuzzUserBodies(f *testing.F) {
	for _, s := range []string{
		`{"name":"alice","password":"pw","roles":["admin"]}`,
		`{"name":"bob","password_hash":"$2a$04$abc"}`,
		`{"state":"disabled"}`, `{"password":"x","clear_password":true}`, `{"roles":[]}`,
		`{"name":1}`, `{"x":1}`, `{} {}`, `[`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c CreateUserRequest
		if err := decodeUserBody(bytes.NewReader(b), &c); err != nil && !errors.Is(err, ErrInvalidBody) {
			t.Fatalf("create body: %v", err)
		}
		var u UpdateUserRequest
		if err := decodeUserBody(bytes.NewReader(b), &u); err != nil && !errors.Is(err, ErrInvalidBody) {
			t.Fatalf("update body: %v", err)
		}
	})
}
