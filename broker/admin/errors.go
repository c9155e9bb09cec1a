package admin

import "errors"

var (
	// ErrInvalidConfig matches (errors.Is) every error Config.Validate returns; the
	// messages themselves start with the field path.
	ErrInvalidConfig = errors.New("invalid admin config")

	// ErrTokenRequired is wrapped (with ErrInvalidConfig) when require_token is
	// false on an address that is not a loopback address.
	ErrTokenRequired = errors.New("token required")

	// ErrInvalidToken is returned by New when the token (inline or read from
	// token_file) is empty, too short or not a valid header value.
	ErrInvalidToken = errors.New("invalid admin token")

	// ErrAlreadyStarted is returned by Start when called twice, and by Handle and
	// HandlePublic after Start.
	ErrAlreadyStarted = errors.New("admin server already started")

	// ErrClosed is returned by Start after Close.
	ErrClosed = errors.New("admin server closed")

	// ErrTokenFileUnsafe is returned by New when the generated token file
	// (Config.GeneratedTokenFile) exists but is a symbolic link, not a regular
	// file, not owned by this process's user, or has a group or other
	// permission bit: the node does not start.
	ErrTokenFileUnsafe = errors.New("admin token file is not private to this user")

	// ErrInvalidPattern is returned by Handle and HandlePublic for a pattern
	// net/http.ServeMux refuses (malformed, or conflicting with a registered one).
	ErrInvalidPattern = errors.New("invalid route pattern")
)
