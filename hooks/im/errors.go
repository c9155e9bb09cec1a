package im

import "errors"

// ErrInvalidOptions is returned by New when a required option is missing.
var ErrInvalidOptions = errors.New("im hook: invalid options")
