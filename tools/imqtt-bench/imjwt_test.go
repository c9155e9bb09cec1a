package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestJWTSignerVerifies checks the tokens with an independent implementation,
// configured as imqttd's auth hook configures it (HS256 only, exp required, iat
// checked).
func TestJWTSignerVerifies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	secret := "0123456789abcdef0123456789abcdef"
	if err := os.WriteFile(path, []byte(secret+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := loadJWTSigner(path, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	key := func(*jwt.Token) (any, error) { return []byte(secret), nil } // without the CR/LF
	now := time.Now()
	for _, user := range []string{"b0s", "g9999", "a.b@c-d_e"} {
		tok := s.token(user, now)
		var claims jwt.RegisteredClaims
		parsed, err := parser.ParseWithClaims(tok, &claims, key)
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		if parsed.Header["alg"] != "HS256" || parsed.Header["typ"] != "JWT" {
			t.Errorf("%s: header %v", user, parsed.Header)
		}
		if claims.Subject != user {
			t.Errorf("sub %q, want %q", claims.Subject, user)
		}
		if claims.ExpiresAt == nil || claims.ExpiresAt.Unix() != now.Add(time.Hour).Unix() {
			t.Errorf("%s: exp %v, want now + 1h", user, claims.ExpiresAt)
		}
		if claims.IssuedAt == nil || claims.IssuedAt.Unix() != now.Unix() {
			t.Errorf("%s: iat %v", user, claims.IssuedAt)
		}
	}

	// A token signed with another key, or expired, is refused by the same parser.
	other := &jwtSigner{key: []byte("another-secret-another-secret-xx"), ttl: time.Hour}
	if _, err := parser.Parse(other.token("b0s", now), key); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Errorf("foreign key: err = %v, want ErrTokenSignatureInvalid", err)
	}
	if _, err := parser.Parse(s.token("b0s", now.Add(-2*time.Hour)), key); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("old token: err = %v, want ErrTokenExpired", err)
	}
}

func TestLoadJWTSignerErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadJWTSigner(empty, time.Hour); !errors.Is(err, ErrSecret) {
		t.Errorf("empty secret: err = %v, want ErrSecret", err)
	}
	if _, err := loadJWTSigner(filepath.Join(dir, "missing"), time.Hour); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "jwt secret file") {
		t.Errorf("missing file: err = %v", err)
	}
}

func BenchmarkJWTToken(b *testing.B) {
	b.ReportAllocs()
	s := &jwtSigner{key: []byte("0123456789abcdef0123456789abcdef"), ttl: time.Hour}
	now := time.Now()
	for range b.N {
		_ = s.token("g12345", now)
	}
}
