package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrSecret reports an unusable HS256 secret file.
var ErrSecret = errors.New("unusable jwt secret")

// jwtHeaderHS256 is the base64url of {"alg":"HS256","typ":"JWT"}, the same for
// every token.
var jwtHeaderHS256 = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// jwtSigner makes HS256 access tokens as imqttd's auth hook verifies them
// (auth.jwt with HS256: identity = "sub", "exp" required). It is safe for
// concurrent use: it holds only the key.
type jwtSigner struct {
	key []byte
	ttl time.Duration
}

// loadJWTSigner reads the HS256 secret from path the way imqttd does: trailing
// CR/LF are not part of it.
func loadJWTSigner(path string, ttl time.Duration) (*jwtSigner, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read jwt secret file: %w", err)
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return nil, fmt.Errorf("jwt secret file %q is empty: %w", path, ErrSecret)
	}
	return &jwtSigner{key: b, ttl: ttl}, nil
}

// jwtClaims are the registered claims the tool sets.
type jwtClaims struct {
	Sub string `json:"sub"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
}

// token returns a compact HS256 JWS for user, issued at now, expiring ttl later.
func (s *jwtSigner) token(user string, now time.Time) string {
	claims, err := json.Marshal(jwtClaims{Sub: user, Iat: now.Unix(), Exp: now.Add(s.ttl).Unix()})
	if err != nil {
		panic(err) // a struct of a string and two integers always marshals
	}
	enc := base64.RawURLEncoding
	b := make([]byte, 0, len(jwtHeaderHS256)+1+enc.EncodedLen(len(claims))+1+enc.EncodedLen(sha256.Size))
	b = append(b, jwtHeaderHS256...)
	b = append(b, '.')
	b = enc.AppendEncode(b, claims)
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	b = append(b, '.')
	return string(enc.AppendEncode(b, m.Sum(nil)))
}
