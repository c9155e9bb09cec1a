package session

import "errors"

var (
	// ErrInvalidConfig is wrapped by every Config.Validate and New error.
	ErrInvalidConfig = errors.New("session: invalid config")
	// ErrOwnerMismatch means the CONNECT's client id names a session of another
	// user (CONNACK 0x87 / 3.1.1 return code 5).
	ErrOwnerMismatch = errors.New("session: client id belongs to another user")
	// ErrTooManySessions means the user already holds session.max_per_user
	// persistent sessions (CONNACK 0x97 / 3.1.1 return code 3).
	ErrTooManySessions = errors.New("session: too many persistent sessions for this user")
)
