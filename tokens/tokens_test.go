package tokens

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var bg = context.Background()

func TestMintVerify(t *testing.T) {
	n := newNode(t)
	s, _ := open(t, n, DefaultConfig(), nil)
	tok, err := s.Mint(bg, "alice", "phone-1", time.Hour)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	if !Owns(tok.Token) {
		t.Fatal("Owns(minted) = false")
	}
	c, err := s.Verify(tok.Token)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.User != "alice" || c.Device != "phone-1" || c.ID != tok.ID || !c.Expires.Equal(tok.ExpiresAt()) {
		t.Fatalf("claims %+v, token %+v", c, tok.Record)
	}
	if d := time.Until(c.Expires); d < 59*time.Minute || d > time.Hour {
		t.Fatalf("expires in %s, want ~1h", d)
	}
	infos, err := s.List("alice")
	if err != nil || len(infos) != 1 || infos[0].ID != tok.ID || infos[0].Revoked {
		t.Fatalf("List = %+v, %v", infos, err)
	}
}

func TestKeyReplicatedOnce(t *testing.T) {
	n := newNode(t)
	a, _ := open(t, n, DefaultConfig(), nil)
	b, _ := open(t, n, DefaultConfig(), nil) // a second start finds the key
	if a.kid != b.kid {
		t.Fatalf("kids differ: %s vs %s", a.kid, b.kid)
	}
	tok, err := a.Mint(bg, "bob", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(tok.Token); err != nil {
		t.Fatalf("other service Verify: %v", err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v %s", a.key, a.key, a.key, a.key), string(a.key.b)) {
		t.Fatal("key printed")
	}
}

func TestKeyFile(t *testing.T) {
	n := newNode(t)
	cfg := DefaultConfig()
	cfg.KeyFile = writeFile(t, strings.Repeat("k", 40)+"\n")
	a, _ := open(t, n, cfg, nil)
	if a.kid == "" || string(a.key.b) != strings.Repeat("k", 40) {
		t.Fatal("key file not used")
	}
	cfg.KeyFile = writeFile(t, "short")
	s, err := New(cfg, Options{Node: n.raft, Store: n.store})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(bg); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("short key: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestExpired(t *testing.T) {
	n := newNode(t)
	clock := time.Now()
	s, _ := open(t, n, DefaultConfig(), func(o *Options) { o.Now = func() time.Time { return clock } })
	tok, err := s.Mint(bg, "alice", "", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(3 * time.Second)
	if _, err := s.Verify(tok.Token); !errors.Is(err, ErrExpired) {
		t.Fatalf("Verify after exp: %v", err)
	}
}

func TestRevoke(t *testing.T) {
	n := newNode(t)
	s, rev := open(t, n, DefaultConfig(), nil)
	t1, _ := s.Mint(bg, "alice", "a", time.Hour)
	t2, _ := s.Mint(bg, "alice", "b", time.Hour)
	t3, _ := s.Mint(bg, "carol", "", time.Hour)
	rec, err := s.Revoke(bg, t1.ID)
	if err != nil || rec.User != "alice" || rec.Device != "a" {
		t.Fatalf("Revoke = %+v, %v", rec, err)
	}
	if _, err := s.Verify(t1.Token); !errors.Is(err, ErrRevoked) {
		t.Fatalf("Verify revoked: %v", err)
	}
	eventually(t, "OnRevoke", func() bool { return rev.has(t1.ID) })
	if _, err := s.Revoke(bg, t1.ID); err != nil {
		t.Fatalf("second Revoke: %v", err)
	}
	for _, id := range []string{"nope", strings.Repeat("A", 22), "../../x"} {
		if _, err := s.Revoke(bg, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Revoke(%q) = %v", id, err)
		}
	}
	recs, err := s.RevokeUser(bg, "alice")
	if err != nil || len(recs) != 1 || recs[0].ID != t2.ID {
		t.Fatalf("RevokeUser = %+v, %v", recs, err)
	}
	eventually(t, "OnRevoke of RevokeUser", func() bool { return rev.has(t2.ID) })
	if _, err := s.Verify(t3.Token); err != nil {
		t.Fatalf("other user's token: %v", err)
	}
	infos, _ := s.List("alice")
	if len(infos) != 2 || !infos[0].Revoked || !infos[1].Revoked {
		t.Fatalf("List = %+v", infos)
	}
}

func TestMintRefusals(t *testing.T) {
	n := newNode(t)
	refuse := errors.New("disabled")
	s, _ := open(t, n, DefaultConfig(), func(o *Options) {
		o.CheckUser = func(u string) error {
			if u == "dave" {
				return refuse
			}
			return nil
		}
	})
	cases := []struct {
		user, dev string
		ttl       time.Duration
		want      error
	}{
		{"", "", 0, ErrInvalidRequest},
		{"a\x00b", "", 0, ErrInvalidRequest},
		{"alice", "bad\ndev", 0, ErrInvalidRequest},
		{"alice", strings.Repeat("d", maxDevice+1), 0, ErrInvalidRequest},
		{"alice", "", 500 * time.Millisecond, ErrInvalidRequest},
		{"alice", "", 31 * 24 * time.Hour, ErrInvalidRequest},
		{"dave", "", 0, ErrUserRefused},
	}
	for _, c := range cases {
		if _, err := s.Mint(bg, c.user, c.dev, c.ttl); !errors.Is(err, c.want) {
			t.Errorf("Mint(%q, %q, %s) = %v, want %v", c.user, c.dev, c.ttl, err, c.want)
		}
	}
}

func TestForgeries(t *testing.T) {
	n := newNode(t)
	s, _ := open(t, n, DefaultConfig(), nil)
	good, _ := s.Mint(bg, "alice", "", time.Hour)
	sign := func(m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
		tk := jwt.NewWithClaims(m, c)
		tk.Header["kid"] = kid
		out, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	exp := time.Now().Add(time.Hour).Unix()
	base := jwt.MapClaims{"sub": "alice", "jti": good.ID, "exp": exp, "iss": "imqtt"}
	other := []byte(strings.Repeat("x", 32))
	parts := strings.Split(good.Token, ".")
	cases := map[string]string{
		"other key": sign(jwt.SigningMethodHS256, other, s.kid, base),
		"other kid": sign(jwt.SigningMethodHS256, s.key.b, "imqtt:0000", base),
		"none":      sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, s.kid, base),
		"hs512":     sign(jwt.SigningMethodHS512, s.key.b, s.kid, base),
		"no exp":    sign(jwt.SigningMethodHS256, s.key.b, s.kid, jwt.MapClaims{"sub": "alice", "jti": good.ID, "iss": "imqtt"}),
		"no jti":    sign(jwt.SigningMethodHS256, s.key.b, s.kid, jwt.MapClaims{"sub": "alice", "exp": exp, "iss": "imqtt"}),
		"other iss": sign(jwt.SigningMethodHS256, s.key.b, s.kid, jwt.MapClaims{"sub": "alice", "jti": good.ID, "exp": exp, "iss": "x"}),
		"swapped":   parts[0] + "." + strings.Split(sign(jwt.SigningMethodHS256, s.key.b, s.kid, jwt.MapClaims{"sub": "mallory", "jti": good.ID, "exp": exp, "iss": "imqtt"}), ".")[1] + "." + parts[2],
		"truncated": good.Token[:len(good.Token)-2],
		"empty":     "",
		"huge":      strings.Repeat("a", maxToken+1),
	}
	for name, tok := range cases {
		if _, err := s.Verify(tok); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Verify = %v, want ErrMalformed", name, err)
		}
	}
	if Owns("a.b.c") || Owns("") || Owns(sign(jwt.SigningMethodHS256, other, "ext-1", base)) {
		t.Error("Owns accepted a foreign token")
	}
}

func TestClosed(t *testing.T) {
	n := newNode(t)
	s, err := New(DefaultConfig(), Options{Node: n.raft, Store: n.store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mint(bg, "a", "", 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Mint before Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Open(bg); !errors.Is(err, ErrClosed) {
		t.Fatalf("Open after Close: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.DefaultTTL = c.MaxTTL + time.Second
	c.KeyFile = "a\x00"
	if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "tokens.default_ttl") || !strings.Contains(err.Error(), "tokens.key_file") {
		t.Fatalf("Validate = %v", err)
	}
}
