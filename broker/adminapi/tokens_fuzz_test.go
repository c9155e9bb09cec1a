package adminapi

import (
	"errors"
	"testing"
	"time"
)

// FuzzDecodeMintRequest: any body decodes or fails with ErrInvalidBody; a
// decoded ttl is never negative.
func FuzzDecodeMintRequest(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"device":"phone","ttl":"2s"}`, `{"ttl":3600}`, `{"ttl":-1}`,
		`{"ttl":"-5m"}`, `{"ttl":1e3}`, `{"x":1}`, `{"ttl":null}`, `{} {}`, `[`, `{"ttl":99999999999999999999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, ttl, err := DecodeMintRequest(body)
		if err != nil && !errors.Is(err, ErrInvalidBody) {
			t.Fatalf("error %v does not wrap ErrInvalidBody", err)
		}
		if ttl < 0 || (err != nil && ttl != 0) {
			t.Fatalf("ttl %s with err %v", ttl, err)
		}
	})
}

func TestDecodeMintRequest(t *testing.T) {
	cases := []struct {
		body string
		dev  string
		ttl  time.Duration
		ok   bool
	}{
		{``, "", 0, true},
		{`{"device":"d1","ttl":"2s"}`, "d1", 2 * time.Second, true},
		{`{"ttl":60}`, "", time.Minute, true},
		{`{"ttl":"0s"}`, "", 0, false},
		{`{"ttl":-3}`, "", 0, false},
		{`{"ttl":1.5}`, "", 0, false},
		{`{"token":"x"}`, "", 0, false},
	}
	for _, c := range cases {
		dev, ttl, err := DecodeMintRequest([]byte(c.body))
		if (err == nil) != c.ok || dev != c.dev || ttl != c.ttl {
			t.Errorf("%s: %q %s %v", c.body, dev, ttl, err)
		}
	}
}
