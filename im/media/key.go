package media

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Key layout (doc.go): "{owner}/{id}", owner = hex(user name), id = 24 hex
// of randomness ‖ 24 hex of keyMAC.
const (
	randHex  = 24
	macHex   = 24
	idHex    = randHex + macHex
	maxOwner = 2 * 64 // user names are at most 64 bytes
)

// ownerOf is the directory/prefix of user's objects.
func ownerOf(user string) string { return hex.EncodeToString([]byte(user)) }

// keyMAC binds a key to its owner and to the declared file.
func keyMAC(secret []byte, owner, rnd string, size int64, mime, sha string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("imqtt-media-key\x00" + owner + "\x00" + rnd + "\x00" + strconv.FormatInt(size, 10) + "\x00" + mime + "\x00" + sha))
	return hex.EncodeToString(m.Sum(nil))[:macHex]
}

// newKey makes a fresh key for user's file f.
func newKey(secret []byte, user string, f File) (string, error) {
	var b [randHex / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("%w: random: %v", ErrUnavailable, err)
	}
	owner, rnd := ownerOf(user), hex.EncodeToString(b[:])
	return owner + "/" + rnd + keyMAC(secret, owner, rnd, f.Size, f.MIME, f.SHA256), nil
}

// isHex reports whether s is non-empty lowercase hex.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// parseKey splits a key into owner and id, refusing anything but the
// server's own layout: no dots, no slashes beyond the one, hex only.
func parseKey(key string) (owner, id string, err error) {
	owner, id, ok := strings.Cut(key, "/")
	if !ok || len(owner) > maxOwner || len(owner)%2 != 0 || !isHex(owner) || len(id) != idHex || !isHex(id) {
		return "", "", fmt.Errorf("%w: malformed key", ErrNotIssued)
	}
	return owner, id, nil
}

// verifyKey checks key's MAC against the declared file.
func verifyKey(secret []byte, key string, f File) error {
	owner, id, err := parseKey(key)
	if err != nil {
		return err
	}
	want := keyMAC(secret, owner, id[:randHex], f.Size, f.MIME, f.SHA256)
	if !hmac.Equal([]byte(want), []byte(id[randHex:])) {
		return fmt.Errorf("%w: key does not match the file's size, mime and sha256", ErrNotIssued)
	}
	return nil
}
