package auth

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

func TestLooksLikeJWT(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		in   string
		want bool
	}{
		{b64([]byte(`{"alg":"HS256"}`)) + "." + b64([]byte(`{}`)) + ".c2ln", true},
		{b64([]byte(`{"alg":"none"}`)) + "." + b64([]byte(`{}`)) + ".", true}, // unsigned: still a token, refused as token_alg
		{b64([]byte(` {"alg":"HS256"}`)) + ".e30.x", true},
		{"", false},
		{"password", false},
		{"a.b", false},
		{"a.b.c.d", false},
		{"abc.def.ghi", false}, // header does not decode to an object
		{".e30.x", false},
		{b64([]byte(`{"alg":"HS256"}`)) + "..x", false},
		{b64([]byte(`{"alg":"HS256"}`)) + "=.e30.x", false}, // padding is not base64url JWS
		{b64([]byte(`{"alg":"HS256"}`)) + ".e30.x y", false},
		{b64([]byte(`["alg"]`)) + ".e30.x", false},
	}
	for _, tt := range tests {
		if got := looksLikeJWT(tt.in); got != tt.want {
			t.Errorf("looksLikeJWT(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestVerifierKeyIsPerAlg checks the defence behind the alg pre-check: the
// parser's own method list and the key function refuse an HS256 token signed
// with the RSA public key, for an RS256-only verifier.
func TestVerifierKeyIsPerAlg(t *testing.T) {
	dir := t.TempDir()
	pubPEM := pemPublic(t, &testRSAKey().PublicKey)
	v, err := loadJWT(JWTConfig{Enabled: true, Algorithms: []string{AlgRS256}, PublicKeyFile: writeFile(t, dir, "k.pem", pubPEM)})
	if err != nil {
		t.Fatal(err)
	}
	forged := sign(t, jwt.SigningMethodHS256, pubPEM, claims("x"))
	var c jwt.RegisteredClaims
	if _, err := v.parser.ParseWithClaims(forged, &c, v.key); err == nil {
		t.Fatal("parser accepted HS256 token for RS256-only verifier")
	}
	if _, err := v.key(&jwt.Token{Method: jwt.SigningMethodHS256}); err == nil {
		t.Fatal("key function returned a key for HS256")
	}
	if _, err := v.key(&jwt.Token{Method: jwt.SigningMethodPS256}); err == nil {
		t.Fatal("key function returned a key for PS256")
	}
	if k, err := v.key(&jwt.Token{Method: jwt.SigningMethodRS256}); err != nil || k == nil {
		t.Fatalf("no key for RS256: %v", err)
	}
	if _, reason, err := v.verify(strings.Repeat("a", maxTokenLen+1)); err == nil || reason != ReasonTokenInvalid {
		t.Fatalf("over-long token: %q %v", reason, err)
	}

	hs, err := loadJWT(JWTConfig{Enabled: true, Algorithms: []string{AlgHS256}, HMACSecretFile: writeFile(t, filepath.Join(dir), "s", newHMACSecret(t))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hs.key(&jwt.Token{Method: jwt.SigningMethodRS256}); err == nil {
		t.Fatal("HS256-only verifier returned a key for RS256")
	}
}

func FuzzTokenAlg(f *testing.F) {
	b64 := base64.RawURLEncoding.EncodeToString
	for _, s := range []string{
		"", ".", "..", "a.b.c", "abc.def.ghi",
		b64([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + b64([]byte(`{"sub":"a"}`)) + ".sig",
		b64([]byte(`{"alg":"none"}`)) + ".e30.",
		b64([]byte(`{"alg":1}`)) + ".e30.x",
		b64([]byte(`{"ALG":"HS256","alg":"none"}`)) + ".e30.x",
		b64([]byte(`{`)) + ".e30.x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		alg, ok := tokenAlg(s)
		looks := looksLikeJWT(s)
		if ok && !looks {
			t.Fatalf("alg %q parsed from a string that does not look like a JWT", alg)
		}
		if looks && strings.Count(s, ".") != 2 {
			t.Fatalf("looksLikeJWT(%q) with %d dots", s, strings.Count(s, "."))
		}
	})
}

func FuzzValidateUsername(f *testing.F) {
	for _, s := range []string{"alice", "org/alice", "a+b", "#", "a:b", " a", "a ", "\x00", "名前", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateUsername(s) != nil {
			return
		}
		if s == "" || len(s) > MaxUsernameLen || strings.ContainsAny(s, "+#:") {
			t.Fatalf("accepted %q", s)
		}
		if !utf8.ValidString(s) {
			t.Fatalf("accepted invalid UTF-8 %q", s)
		}
		for _, r := range s {
			if unicode.IsControl(r) {
				t.Fatalf("accepted %q with %U", s, r)
			}
		}
		if strings.TrimSpace(s) != s {
			t.Fatalf("accepted %q with outer white space", s)
		}
	})
}

// TestCheckClaimTypes feeds crafted payloads (the signature is not looked at):
// NumericDate claims must be JSON numbers, sub a single JSON string, none of
// them given twice.
func TestCheckClaimTypes(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	tok := func(payload string) string { return "eyJhbGciOiJIUzI1NiJ9." + b64([]byte(payload)) + ".c2ln" }
	tests := []struct {
		payload string
		reason  string // "" = accepted
	}{
		{`{"sub":"a","exp":1700000000,"nbf":-1,"iat":1.5e9}`, ""},
		{`{}`, ""},
		{`{"other":"1","aud":["x","y"],"exp":0}`, ""},
		{`{"exp":"1700000000"}`, ReasonTokenClaims},
		{`{"nbf":"1"}`, ReasonTokenClaims},
		{`{"iat":true}`, ReasonTokenClaims},
		{`{"exp":null}`, ReasonTokenClaims},
		{`{"exp":[1]}`, ReasonTokenClaims},
		{`{"exp":1,"exp":2}`, ReasonTokenClaims},
		{`{"sub":["a"]}`, ReasonTokenSubject},
		{`{"sub":1}`, ReasonTokenSubject},
		{`{"sub":{"a":1}}`, ReasonTokenSubject},
		{`{"sub":"a","sub":"b"}`, ReasonTokenSubject},
		{`[1]`, ReasonTokenInvalid},
		{`{"sub":`, ReasonTokenInvalid},
	}
	for _, tt := range tests {
		reason, err := checkClaimTypes(tok(tt.payload))
		if reason != tt.reason || (err == nil) != (tt.reason == "") {
			t.Errorf("checkClaimTypes(%s) = %q, %v; want %q", tt.payload, reason, err, tt.reason)
		}
	}
	if reason, err := checkClaimTypes("a.b"); err == nil || reason != ReasonTokenInvalid {
		t.Errorf("two parts: %q %v", reason, err)
	}
}

func FuzzCheckClaimTypes(f *testing.F) {
	for _, s := range []string{`{"sub":"a","exp":1}`, `{"exp":"1"}`, `{"sub":["a"]}`, `{"a":{"exp":"x"}}`, `{`, `[]`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		token := "e30." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".x"
		reason, err := checkClaimTypes(token)
		if (err == nil) != (reason == "") {
			t.Fatalf("reason %q with err %v", reason, err)
		}
		if err != nil {
			return
		}
		// Accepted: the payload is one JSON object whose typed claims, if any,
		// have the right types.
		var m map[string]any
		if json.Unmarshal([]byte(payload), &m) != nil {
			return // trailing bytes after the object are not this check's business
		}
		for _, c := range numericClaims {
			if v, ok := m[c]; ok {
				if _, num := v.(float64); !num {
					t.Fatalf("accepted %s = %#v", c, v)
				}
			}
		}
		if v, ok := m["sub"]; ok {
			if _, s := v.(string); !s {
				t.Fatalf("accepted sub = %#v", v)
			}
		}
	})
}
