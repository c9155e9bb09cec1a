package push

import "errors"

// ErrInvalidConfig wraps every Config.Validate failure.
var ErrInvalidConfig = errors.New("push: invalid config")
