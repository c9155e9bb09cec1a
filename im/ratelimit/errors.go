package ratelimit

import "errors"

// ErrInvalidConfig wraps every Config.Validate failure.
var ErrInvalidConfig = errors.New("ratelimit: invalid config")
