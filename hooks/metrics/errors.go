package metrics

import "errors"

var (
	// ErrNilMetrics is returned by Hook.Init when the hook was built with a nil
	// *Metrics.
	ErrNilMetrics = errors.New("metrics: nil *Metrics")

	// ErrInvalidConfig is returned by Hook.Init when it is given a config; the hook
	// takes none (everything comes from the *Metrics it was built with).
	ErrInvalidConfig = errors.New("metrics: hook takes no config")

	// ErrRegister wraps a failure to register a collector with the registry in New.
	// It means a programming error (duplicate or inconsistent metric description).
	ErrRegister = errors.New("metrics: register collector")
)
