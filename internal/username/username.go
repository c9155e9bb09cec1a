// Package username holds the one rule for user names (identities): the
// password file, the user store (accounts) and the authenticator all apply
// it, each wrapping the result in its own sentinel error.
package username

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxLen is the longest user name accepted, in bytes.
const MaxLen = 256

// Check reports why s may not be a user name, or nil: 1 to MaxLen bytes of
// valid UTF-8, without '+', '#' or ':', without control characters (NUL,
// C0, DEL, C1) and without leading or trailing white space. '/' is allowed.
// User names are substituted into ACL patterns such as "im/u/{user}/#", so a
// wildcard in one would widen a grant; ':' is the password file separator.
// The error says which rule failed and never quotes the name (it may be a
// password typed in the wrong field).
func Check(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > MaxLen {
		return fmt.Errorf("longer than %d bytes", MaxLen)
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for i, r := range s {
		switch {
		case r == '+' || r == '#':
			return fmt.Errorf("contains MQTT wildcard %q at byte %d", r, i)
		case r == ':':
			return fmt.Errorf("contains ':' at byte %d", i)
		case unicode.IsControl(r):
			return fmt.Errorf("contains control character U+%04X at byte %d", r, i)
		}
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return errors.New("leading or trailing white space")
	}
	return nil
}
