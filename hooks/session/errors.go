package session

import "errors"

// ErrInvalidConfig is wrapped by every Config and Limits Validate error.
var ErrInvalidConfig = errors.New("session: invalid config")
