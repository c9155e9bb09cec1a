package flow

import "errors"

// ErrIncompatible means the mochi version's client state does not have the
// outbound queue the hook measures.
var ErrIncompatible = errors.New("flow: mochi client state has no outbound queue")

// ErrInvalidConfig is returned for a negative wait.
var ErrInvalidConfig = errors.New("flow: invalid config")
