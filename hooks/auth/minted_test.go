package auth

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/persist"
	"github.com/imqtt/imqtt/tokens"
)

// mintedService is a real tokens.Service on a real one-voter raft node.
func mintedService(t *testing.T) *tokens.Service {
	t.Helper()
	dir := t.TempDir()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	pc := persist.DefaultConfig()
	pc.Dir, pc.MinFreeBytes, pc.ValueLogGCInterval = filepath.Join(dir, "fsm"), 0, 0
	st, err := persist.Open(pc, log)
	if err != nil {
		t.Fatal(err)
	}
	cc := cluster.DefaultConfig()
	cc.NodeID, cc.DataDir, cc.BindAddr, cc.Bootstrap = "n1", dir, "127.0.0.1:0", true
	cc.HeartbeatTimeout, cc.ElectionTimeout, cc.LeaderLeaseTimeout = 100*time.Millisecond, 100*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := cluster.Open(ctx, cc, st.StateMachine(), log)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	svc, err := tokens.New(tokens.DefaultConfig(), tokens.Options{Node: n, Store: st, Log: log, ValidateUser: ValidateUsername})
	if err == nil {
		if err = n.WaitReady(ctx); err == nil {
			err = svc.Open(ctx)
		}
	}
	t.Cleanup(func() {
		_ = svc.Close()
		n.Close()
		st.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// mintedAdapter is the broker's adapter (broker/tokens.go), repeated here:
// this package may not import tokens outside tests.
type mintedAdapter struct{ s *tokens.Service }

func (a mintedAdapter) Owns(tok string) bool { return tokens.Owns(tok) }

func (a mintedAdapter) Verify(tok string) (MintedClaims, error) {
	c, err := a.s.Verify(tok)
	switch {
	case errors.Is(err, tokens.ErrExpired):
		return MintedClaims{}, fmt.Errorf("%w: %w", ErrMintedExpired, err)
	case errors.Is(err, tokens.ErrRevoked):
		return MintedClaims{}, fmt.Errorf("%w: %w", ErrMintedRevoked, err)
	case err != nil:
		return MintedClaims{}, err
	}
	return MintedClaims{User: c.User, ID: c.ID, ExpiresAt: c.Expires.UnixMilli()}, nil
}

func TestMintedTokens(t *testing.T) {
	svc := mintedService(t)
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.JWT.Enabled = true
	cfg.JWT.Algorithms = []string{AlgHS256}
	ext256 := newHMACSecret(t)
	cfg.JWT.HMACSecretFile = writeFile(t, dir, "hmac.key", ext256)
	obs := &recObserver{}
	h, err := New(cfg, Options{
		Log: zerolog.New(zerolog.NewTestWriter(t)), Observer: obs, Tokens: mintedAdapter{svc},
		WillCheck: func(string, string, string) bool { return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	auth := func(user, password string) ext.AuthResult {
		req := &ext.ConnectRequest{
			Client:       &ext.Client{ID: "c", Username: user, Listener: "tcp"},
			UsernameFlag: user != "", PasswordFlag: true, Password: []byte(password),
		}
		return h.Authenticate(context.Background(), req)
	}
	ctx := context.Background()
	tok, err := svc.Mint(ctx, "alice", "phone", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"", "alice"} {
		r := auth(user, tok.Token)
		if r.Code != 0 || r.Identity != "alice" || r.TokenID != tok.ID || r.ExpiresAt != tok.Expires {
			t.Fatalf("user %q: %+v, want alice %s %d", user, r, tok.ID, tok.Expires)
		}
	}
	if r := auth("bob", tok.Token); r.Code != 0x86 || r.Reason != ReasonTokenUserMismatch {
		t.Fatalf("mismatch: %+v", r)
	}
	// An external issuer's token keeps working and carries its exp.
	exp := time.Now().Add(time.Hour).Unix()
	external := sign(t, jwt.SigningMethodHS256, trimNL(ext256), jwt.MapClaims{"sub": "carol", "exp": exp})
	if r := auth("", external); r.Code != 0 || r.Identity != "carol" || r.TokenID != "" || r.ExpiresAt != exp*1000 {
		t.Fatalf("external: %+v", r)
	}
	if _, err := svc.Revoke(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if r := auth("", tok.Token); r.Code != 0x86 || r.Reason != ReasonTokenRevoked {
		t.Fatalf("revoked: %+v", r)
	}
	// A token with our kid signed by another key is never tried elsewhere.
	forged := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": exp, "jti": tok.ID, "iss": "imqtt"})
	forged.Header["kid"] = "imqtt:0011223344556677"
	f, _ := forged.SignedString(trimNL(ext256))
	if r := auth("", f); r.Code != 0x86 || r.Reason != ReasonTokenInvalid {
		t.Fatalf("forged: %+v", r)
	}
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
