package tokens

import "errors"

// Sentinel errors of the package; functions wrap them with %w and callers
// test them with errors.Is.
var (
	// ErrInvalidConfig is matched by every error Config.Validate returns.
	ErrInvalidConfig = errors.New("invalid tokens config")
	// ErrInvalidKey reports a key file that is unreadable or shorter than
	// MinKeyLen bytes, or a replicated key of the wrong size.
	ErrInvalidKey = errors.New("invalid token signing key")
	// ErrInvalidRequest reports a mint request with a bad user name, device
	// id or ttl.
	ErrInvalidRequest = errors.New("invalid token request")
	// ErrMalformed reports a token that does not parse, has the wrong alg or
	// kid, a bad signature or claims of the wrong type.
	ErrMalformed = errors.New("malformed token")
	// ErrExpired reports a token whose exp has passed.
	ErrExpired = errors.New("token expired")
	// ErrRevoked reports a token whose id is on the deny list.
	ErrRevoked = errors.New("token revoked")
	// ErrNotFound reports a token id with no live record (unknown, or
	// already expired).
	ErrNotFound = errors.New("token not found")
	// ErrUserRefused is wrapped around the error of Options.CheckUser: the
	// user may not get a token (unknown or disabled).
	ErrUserRefused = errors.New("user may not get a token")
	// ErrStorage reports a write through raft that failed or whose outcome
	// is unknown, or a read of the store that failed.
	ErrStorage = errors.New("token storage")
	// ErrClosed is returned after Close, or before Open.
	ErrClosed = errors.New("tokens: closed")
)
