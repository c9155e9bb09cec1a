package tokens

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Record is what the cluster keeps of a minted token (never the token
// itself): o/tk/t/{id}, and the same JSON on the deny list once revoked.
type Record struct {
	ID      string `json:"id"`
	User    string `json:"user"`
	Device  string `json:"device,omitempty"`
	Expires int64  `json:"exp"` // unix milliseconds
	Issued  int64  `json:"iat"` // unix milliseconds
}

// Info is a record with its state, for listings.
type Info struct {
	Record
	Revoked bool `json:"revoked"`
}

// Token is a freshly minted token: the JWT (hand it to the app; it is not
// stored) and its record.
type Token struct {
	Token string
	Record
}

// ExpiresAt returns the record's expiry as a time.
func (r Record) ExpiresAt() time.Time { return time.UnixMilli(r.Expires) }

// decodeRecord parses a stored record.
func decodeRecord(b []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("%w: token record: %w", ErrStorage, err)
	}
	return r, nil
}

// encodeRecord is the stored form of r.
func encodeRecord(r Record) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("%w: encode token record: %w", ErrStorage, err)
	}
	return b, nil
}

// validID reports whether id has the shape of a token id (base64url of
// idBytes random bytes), so that no other string reaches a store key.
func validID(id string) bool {
	if len(id) != (idBytes*8+5)/6 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c == '-' || c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// checkUser is the fallback user name check (Options.ValidateUser nil):
// 1..256 bytes of UTF-8 without control characters.
func checkUser(user string) error {
	if user == "" || len(user) > maxUser || !utf8.ValidString(user) || strings.IndexFunc(user, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: user %q", ErrInvalidRequest, user)
	}
	return nil
}

// checkDevice allows "" or up to maxDevice bytes of UTF-8 without control
// characters.
func checkDevice(dev string) error {
	if len(dev) > maxDevice || !utf8.ValidString(dev) || strings.IndexFunc(dev, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: device %q: at most %d bytes of UTF-8 without control characters", ErrInvalidRequest, dev, maxDevice)
	}
	return nil
}
