package auth

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxUsernameLen is the longest username accepted, in bytes.
const MaxUsernameLen = 256

// ValidateUsername reports whether u may be used as an identity: 1 to
// MaxUsernameLen bytes of valid UTF-8, without '+', '#' or ':', without control
// characters (NUL, C0, DEL, C1) and without leading or trailing white space.
// '/' is allowed. Usernames are substituted into ACL patterns such as
// "im/u/{user}/#", so a wildcard in a username would widen a grant; ':' is the
// password file separator.
//
// The returned error wraps ErrInvalidUsername and says which rule failed; it
// never quotes the username (it may be a password typed in the wrong field).
func ValidateUsername(u string) error {
	if u == "" {
		return fmt.Errorf("%w: empty", ErrInvalidUsername)
	}
	if len(u) > MaxUsernameLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidUsername, MaxUsernameLen)
	}
	if !utf8.ValidString(u) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidUsername)
	}
	for i, r := range u {
		switch {
		case r == '+' || r == '#':
			return fmt.Errorf("%w: contains MQTT wildcard %q at byte %d", ErrInvalidUsername, r, i)
		case r == ':':
			return fmt.Errorf("%w: contains ':' at byte %d", ErrInvalidUsername, i)
		case unicode.IsControl(r):
			return fmt.Errorf("%w: contains control character U+%04X at byte %d", ErrInvalidUsername, r, i)
		}
	}
	first, _ := utf8.DecodeRuneInString(u)
	last, _ := utf8.DecodeLastRuneInString(u)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return fmt.Errorf("%w: leading or trailing white space", ErrInvalidUsername)
	}
	return nil
}
