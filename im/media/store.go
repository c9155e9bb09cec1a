package media

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// File describes a file to upload, and the file a media message names.
type File struct {
	Name   string // display name, 1..255 bytes of printable UTF-8, no '/' or '\'
	Size   int64  // bytes, 1..Config.MaxSize
	MIME   string // lowercase type/subtype, in Config.AllowedTypes
	SHA256 string // 64 lowercase hex digits
}

// Grant is the answer to an upload: PUT the bytes to PutURL (with the
// headers in PutHeaders) before Expires (unix ms), then send URL in the
// message.
type Grant struct {
	PutURL     string
	PutHeaders map[string]string
	URL        string
	Key        string
	Expires    int64
}

// Store is a media backend (*Embedded, *S3).
type Store interface {
	// Upload checks f against the limits and user's quota and returns signed
	// URLs for a fresh server-made key. It does not block on the network for
	// the embedded store; the S3 store lists the user's objects for the quota.
	// Errors: ErrBadRequest, ErrTooLarge, ErrType, ErrQuota, ErrUnavailable,
	// ErrClosed.
	Upload(ctx context.Context, user string, f File) (Grant, error)
	// Check reports whether url is a read URL this store issued for a file
	// with f's size, mime and sha256, not yet expired. It does not block.
	// Errors: ErrNotIssued, ErrBadSignature, ErrExpired, ErrTooLarge,
	// ErrType, ErrBadRequest.
	Check(url string, f File) error
	// Close releases the store; idempotent.
	Close() error
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkFile validates f's fields and limits.
func (c *Config) checkFile(f File) error {
	switch {
	case f.Name == "" || len(f.Name) > 255 || !utf8.ValidString(f.Name) || strings.ContainsAny(f.Name, "/\\") || !printable(f.Name):
		return fmt.Errorf("%w: name must be 1..255 bytes of printable UTF-8 without / or \\", ErrBadRequest)
	case f.Size < 1:
		return fmt.Errorf("%w: size %d must be at least 1", ErrBadRequest, f.Size)
	case f.Size > c.MaxSize:
		return fmt.Errorf("%w: size %d above %d", ErrTooLarge, f.Size, c.MaxSize)
	case !validMIME(f.MIME):
		return fmt.Errorf("%w: mime %q is not a lowercase type/subtype", ErrBadRequest, clip(f.MIME))
	case !c.allowed(f.MIME):
		return fmt.Errorf("%w: %s", ErrType, f.MIME)
	case !sha256Hex.MatchString(f.SHA256):
		return fmt.Errorf("%w: sha256 must be 64 lowercase hex digits", ErrBadRequest)
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// clip bounds a client string quoted in an error.
func clip(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.ToValidUTF8(s, "?")
}
