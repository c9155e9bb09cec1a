package auth

import (
	"fmt"

	"github.com/imqtt/imqtt/internal/username"
)

// MaxUsernameLen is the longest username accepted, in bytes.
const MaxUsernameLen = username.MaxLen

// ValidateUsername reports whether u may be used as an identity: the rule of
// internal/username (1 to MaxUsernameLen bytes of valid UTF-8, no '+', '#'
// or ':', no control characters, no leading or trailing white space), which
// the user store applies too. The returned error wraps ErrInvalidUsername
// and says which rule failed; it never quotes the username.
func ValidateUsername(u string) error {
	if err := username.Check(u); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidUsername, err)
	}
	return nil
}
