package imqtt

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
)

// newCID returns a fresh message cid: 128 random bits, URL-safe base64.
func newCID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newTag returns n random bytes in hex: client ids, device tags, rid prefixes.
func newTag(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
