package admin

import "errors"

var (
	// ErrInvalidConfig matches (errors.Is) every error Config.Validate returns; the
	// messages themselves start with the field path.
	ErrInvalidConfig = errors.New("invalid admin config")

	// ErrTokenRequired is wrapped (with ErrInvalidConfig) when the address is not a
	// loopback address and neither token nor token_file is set.
	ErrTokenRequired = errors.New("token required")

	// ErrInvalidToken is returned by New when the token (inline or read from
	// token_file) is empty, too short or not a valid header value.
	ErrInvalidToken = errors.New("invalid admin token")

	// ErrAlreadyStarted is returned by Start when called twice, and by Handle and
	// HandlePublic after Start.
	ErrAlreadyStarted = errors.New("admin server already started")

	// ErrClosed is returned by Start after Close.
	ErrClosed = errors.New("admin server closed")

	// ErrInvalidPattern is returned by Handle and HandlePublic for a pattern
	// net/http.ServeMux refuses (malformed, or conflicting with a registered one).
	ErrInvalidPattern = errors.New("invalid route pattern")
)

// ErrTokenFileUnsafe is returned by New when the generated token file
// (Config.GeneratedTokenFile) exists but is not a regular file owned by this
// process's user with mode 0600 (no group or other bits).
var ErrTokenFileUnsafe = errors.New("admin token file is not private to this user")
