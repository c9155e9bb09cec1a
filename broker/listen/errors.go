package listen

import "errors"

var (
	// ErrInvalidConfig is wrapped by every Config and Limits validation error; the
	// message names the field path (relative to the listener or the limits block)
	// and the offending value.
	ErrInvalidConfig = errors.New("invalid listener config")
	// ErrTLSMaterial is wrapped when a certificate, key or client CA file cannot be
	// read or parsed; the message names the field and the file (TLSSource).
	ErrTLSMaterial = errors.New("invalid tls material")
	// ErrNotTLS is returned when TLS material is reloaded on a tcp or ws
	// listener.
	ErrNotTLS = errors.New("listener does not use tls")
)
