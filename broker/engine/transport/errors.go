package transport

import "errors"

// Close causes and errors of the transport. Handler.Closed receives one of these
// (possibly wrapped), io.EOF, the handler's own error, or a read or write error.
var (
	// ErrKeepalive: the read timeout set by Conn.SetReadTimeout passed without a
	// byte from the client [MQTT-3.1.2-24].
	ErrKeepalive = errors.New("keepalive timeout")
	// ErrConnectTimeout: Config.ConnectTimeout passed between accept and the first
	// complete packet (TLS handshake and WebSocket upgrade included).
	ErrConnectTimeout = errors.New("connect timeout")
	// ErrPacketTooLarge: a packet's fixed header announced a total size above
	// Config.MaxPacketSize; nothing of it was buffered. Given to Handler.Malformed.
	ErrPacketTooLarge = errors.New("packet too large")
	// ErrMalformed: the fixed header is invalid (a remaining length longer than 4
	// bytes, or flags the packet type forbids; the latter wraps mochi's error too).
	// Given to Handler.Malformed.
	ErrMalformed = errors.New("malformed packet")
	// ErrWriteTimeout: a blocked write made no progress for Config.WriteTimeout.
	ErrWriteTimeout = errors.New("write timeout")
	// ErrServerClosed: Server.Close closed the connection.
	ErrServerClosed = errors.New("server closed")
	// ErrClosed: the connection or the server is already closed.
	ErrClosed = errors.New("transport closed")
	// ErrWebSocket is wrapped by every WebSocket framing error (unmasked client
	// frame, reserved bits or opcodes, a text message [MQTT-6.0.0-1], a control
	// frame that is fragmented or too long, a continuation without a message);
	// the client got a close frame (1003 for text, else 1002).
	ErrWebSocket = errors.New("websocket protocol error")
	// ErrInvalidConfig is wrapped by every Config.Validate error.
	ErrInvalidConfig = errors.New("invalid transport config")
	// ErrNilHandler: New was given no Handler.
	ErrNilHandler = errors.New("transport needs a handler")
	// ErrNilGuard: New was given no listen.Guard.
	ErrNilGuard = errors.New("transport needs a guard")
)
