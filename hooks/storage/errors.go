package storage

import "errors"

var (
	// ErrInvalidConfig is wrapped by every Config.Validate and New error about
	// the configuration or missing options.
	ErrInvalidConfig = errors.New("storage: invalid config")
	// ErrUnexpectedResult is returned when the applier answers a persist command
	// with something other than []persist.Result of the right length.
	ErrUnexpectedResult = errors.New("storage: unexpected apply result")
	// ErrClosed is returned by operations after Hook.Stop or
	// EngineStore.Close.
	ErrClosed = errors.New("storage: stopped")
	// ErrSessionConnected is returned by Discard while a client of this node
	// holds the session.
	ErrSessionConnected = errors.New("storage: session is connected")
)
