package listen

import "errors"

var (
	// ErrInvalidConfig is wrapped by every Config and Limits validation error; the
	// message names the field path (relative to the listener or the limits block)
	// and the offending value.
	ErrInvalidConfig = errors.New("invalid listener config")
	// ErrTLSMaterial is wrapped when a certificate, key or client CA file cannot be
	// read or parsed; the message names the field and the file. New and ReloadTLS
	// return it.
	ErrTLSMaterial = errors.New("invalid tls material")
	// ErrNotTLS is returned by ReloadTLS on a tcp or ws listener.
	ErrNotTLS = errors.New("listener does not use tls")
	// ErrNilGuard is returned by New when no Guard is given.
	ErrNilGuard = errors.New("listener needs a guard")
	// ErrClosed is returned by Init on a closed listener and by Read and Write on a
	// connection the listener has closed.
	ErrClosed = errors.New("listener closed")
	// ErrAlreadyOpen is returned by a second Init.
	ErrAlreadyOpen = errors.New("listener already open")
	// ErrFirstPacketNotConnect is returned by a connection's Read when the first byte
	// of the stream is not a CONNECT fixed header (0x10) [MQTT-3.1.0-1].
	ErrFirstPacketNotConnect = errors.New("first packet is not connect")
	// ErrFirstPacketTooLarge is returned by a connection's Read when the first
	// packet announces a remaining length above Limits.MaxFirstPacket.
	ErrFirstPacketTooLarge = errors.New("first packet too large")
	// ErrMalformedLength is returned by a connection's Read when a packet's
	// remaining length is not a valid variable byte integer (more than 4 bytes):
	// the first packet's always, later packets' when Limits.MaxPacketSize is set
	// (an MQTT 5 client then gets a DISCONNECT 0x81 first).
	ErrMalformedLength = errors.New("malformed remaining length")
	// ErrPacketTooLarge is returned by a connection's Read when a packet after
	// CONNECT has a total size (fixed header included) above Limits.MaxPacketSize;
	// an MQTT 5 client got a DISCONNECT 0x95 first [MQTT-4.13.2-1].
	ErrPacketTooLarge = errors.New("packet too large")
	// ErrNotBinary is returned by a websocket connection's Read when the peer sends
	// a text message: MQTT over WebSocket uses binary frames only [MQTT-6.0.0-1].
	ErrNotBinary = errors.New("websocket message is not binary")
)
