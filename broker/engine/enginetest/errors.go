package enginetest

import "errors"

// Sentinels a check's error may wrap (errors.Is); the text around them says
// what was observed.
var (
	// ErrTimeout: an expected packet or message did not arrive in time.
	ErrTimeout = errors.New("enginetest: timed out")
	// ErrUnexpected: a packet, message or value differs from what the rule says.
	ErrUnexpected = errors.New("enginetest: unexpected")
	// ErrClosed: the broker closed the connection where it should not have.
	ErrClosed = errors.New("enginetest: connection closed")
	// ErrStuck: after a fuzz sequence, a fresh client could not connect or the
	// broker stopped answering PINGREQ.
	ErrStuck = errors.New("enginetest: broker stuck")
)
