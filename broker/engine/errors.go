package engine

import (
	"errors"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Sentinel errors of the engine. Packet returns them (wrapped with %w and
// context) to the transport, which closes the connection after the batch's
// flush; reasonCode maps each to the MQTT 5 reason code of the DISCONNECT or
// CONNACK, once, at the edge (disconnect.go, connect.go).
var (
	// ErrInvalidConfig: a Config field is out of range (Validate).
	ErrInvalidConfig = errors.New("engine: invalid config")
	// ErrClosed: the engine is closed.
	ErrClosed = errors.New("engine: closed")
	// ErrInvalidTopic: Engine.Publish was given a topic name that is empty,
	// has a wildcard or a NUL [MQTT-3.3.2-2], or a QoS above 2.
	ErrInvalidTopic = errors.New("engine: invalid topic name")
	// ErrMalformed: a packet could not be decoded (0x81).
	ErrMalformed = errors.New("malformed packet")
	// ErrProtocol: a packet broke a protocol rule (0x82).
	ErrProtocol = errors.New("protocol error")
	// ErrTopicAlias: a topic alias out of range or unknown (0x94 / 0x82).
	ErrTopicAlias = errors.New("topic alias invalid")
	// ErrTopicNameInvalid: a topic name the server does not accept (too
	// deep: limits.max_topic_levels) on a PUBLISH without an ack (0x90).
	ErrTopicNameInvalid = errors.New("topic name invalid")
	// ErrReceiveMaximum: the client exceeded our Receive Maximum (0x93).
	ErrReceiveMaximum = errors.New("receive maximum exceeded")
	// ErrPacketTooLarge: an inbound packet above the maximum (0x95).
	ErrPacketTooLarge = errors.New("packet too large")
	// ErrNotAuthorized: an action the Authorizer refused that ends the
	// connection (0x87).
	ErrNotAuthorized = errors.New("not authorized")
	// ErrTakenOver: another connection took the session over (0x8E).
	ErrTakenOver = errors.New("session taken over")
	// ErrServerShutdown: the engine is closing (0x8B).
	ErrServerShutdown = errors.New("server shutting down")
	// ErrConnectRefused: the CONNACK refused the connection; the reason is in
	// the CONNACK.
	ErrConnectRefused = errors.New("connect refused")
	// ErrQoSNotSupported: a PUBLISH above the server's Maximum QoS (0x9B).
	ErrQoSNotSupported = errors.New("qos not supported")
	// ErrRetainNotSupported: a retained PUBLISH while retain is off (0x9A).
	ErrRetainNotSupported = errors.New("retain not supported")
	// ErrNormal: the client sent DISCONNECT 0x00 (no will).
	ErrNormal = errors.New("normal disconnect")
	// ErrDisconnectWithWill: the client sent DISCONNECT 0x04 (will published).
	ErrDisconnectWithWill = errors.New("disconnect with will message")
)

// reasonCode maps an error to the MQTT 5 reason code of the server's
// DISCONNECT. It is the one place where errors become reason codes.
func reasonCode(err error) byte {
	var code packets.Code
	switch {
	case errors.Is(err, ErrTopicAlias):
		return 0x94
	case errors.Is(err, ErrTopicNameInvalid):
		return 0x90
	case errors.Is(err, ErrReceiveMaximum):
		return 0x93 // [MQTT-3.3.4-9]
	case errors.Is(err, ErrPacketTooLarge):
		return 0x95
	case errors.Is(err, ErrNotAuthorized):
		return 0x87
	case errors.Is(err, ErrTakenOver):
		return 0x8E // [MQTT-3.1.4-3]
	case errors.Is(err, ErrServerShutdown):
		return 0x8B
	case errors.Is(err, ErrQoSNotSupported):
		return 0x9B // [MQTT-3.2.2-11]
	case errors.Is(err, ErrRetainNotSupported):
		return 0x9A // [MQTT-3.2.2-14]
	case errors.Is(err, ErrMalformed):
		return 0x81
	case errors.Is(err, ErrProtocol):
		return 0x82
	case errors.As(err, &code) && code.Code >= 0x80:
		return code.Code
	}
	return 0x80
}

// reasonWord is the short fixed word for logs and Observer.ClientDisconnected.
func reasonWord(err error) string {
	switch {
	case err == nil:
		return "closed"
	case errors.Is(err, ErrNormal):
		return "normal"
	case errors.Is(err, ErrDisconnectWithWill):
		return "disconnect_with_will"
	case errors.Is(err, ErrTakenOver):
		return "taken_over"
	case errors.Is(err, ErrServerShutdown):
		return "shutdown"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrProtocol), errors.Is(err, ErrTopicAlias):
		return "protocol_error"
	case errors.Is(err, ErrReceiveMaximum):
		return "receive_maximum"
	case errors.Is(err, ErrConnectRefused):
		return "connect_refused"
	}
	return "connection_lost"
}
