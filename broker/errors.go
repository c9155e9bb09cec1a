package broker

import "errors"

var (
	// ErrInvalidConfig is wrapped by every configuration error; the message names the
	// key path and the offending value.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrClosed is returned by operations on a broker that has been closed.
	ErrClosed = errors.New("broker closed")
	// ErrNotStarted is returned by operations that need a started broker.
	ErrNotStarted = errors.New("broker not started")
)

// Why a token mint is refused (tokens.go tokenUserCheck; the admin API
// answers 409 user_refused with the text).
var (
	errNoUserStore  = errors.New("no user store")
	errUnknownUser  = errors.New("the user store has no such user: create it first (a token-only user needs no password)")
	errDisabledUser = errors.New("user disabled")
)
