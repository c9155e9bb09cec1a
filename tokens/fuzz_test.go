package tokens

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary strings (seeded with a real token and its
// mutilations) to Owns and Verify: no panic, a precise error, and nothing
// but the minted token itself is accepted.
func FuzzVerify(f *testing.F) {
	n := newNode(f)
	s, _ := open(f, n, DefaultConfig(), nil)
	good, err := s.Mint(bg, "alice", "dev", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.Token)
	f.Add(good.Token[:len(good.Token)/2])
	f.Add(strings.Replace(good.Token, ".", "..", 1))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		_ = Owns(tok)
		c, err := s.Verify(tok)
		if err == nil {
			if c.ID != good.ID || c.User != "alice" {
				t.Fatalf("accepted %q as %+v", tok, c)
			}
			return
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrExpired) {
			t.Fatalf("Verify(%q) = %v", tok, err)
		}
	})
}
