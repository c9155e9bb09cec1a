package accounts

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen is the longest user name accepted, in bytes.
const MaxNameLen = 256

// ValidateName reports whether name may be a user name: the same rules as
// hooks/auth.ValidateUsername (the store and the password file name the same
// identities): 1..MaxNameLen bytes of valid UTF-8, no '+', '#' or ':', no
// control characters, no leading or trailing white space. The error wraps
// ErrInvalidName and never quotes the name.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidName, MaxNameLen)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidName)
	}
	for i, r := range name {
		switch {
		case r == '+' || r == '#':
			return fmt.Errorf("%w: contains MQTT wildcard %q at byte %d", ErrInvalidName, r, i)
		case r == ':':
			return fmt.Errorf("%w: contains ':' at byte %d", ErrInvalidName, i)
		case unicode.IsControl(r):
			return fmt.Errorf("%w: contains control character U+%04X at byte %d", ErrInvalidName, r, i)
		}
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return fmt.Errorf("%w: leading or trailing white space", ErrInvalidName)
	}
	return nil
}
