package accounts

import (
	"fmt"

	"github.com/imqtt/imqtt/internal/username"
)

// MaxNameLen is the longest user name accepted, in bytes.
const MaxNameLen = username.MaxLen

// ValidateName reports whether name may be a user name: the rule of
// internal/username, which the password file (hooks/auth) applies too, so the
// store and the file name the same identities. The error wraps
// ErrInvalidName and never quotes the name.
func ValidateName(name string) error {
	if err := username.Check(name); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidName, err)
	}
	return nil
}
