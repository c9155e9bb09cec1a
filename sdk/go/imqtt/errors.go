package imqtt

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrClosed is returned by calls on a Client after Close, and by calls
	// still waiting when Close runs.
	ErrClosed = errors.New("imqtt: client closed")
	// ErrTimeout is returned by a request that got no reply within
	// Config.Timeout (sends are not failed by time: see Client.Send), and by
	// Connect when no connection came up in time.
	ErrTimeout = errors.New("imqtt: timeout")
	// ErrNotConnected is returned by requests made while the connection is
	// down (rpcs are not queued; sends are: they stay in the outbox).
	ErrNotConnected = errors.New("imqtt: not connected")
	// ErrInvalidConfig wraps every Config.Validate error.
	ErrInvalidConfig = errors.New("imqtt: invalid config")
	// ErrBadReply is returned when the server's reply cannot be decoded.
	ErrBadReply = errors.New("imqtt: malformed reply")
)

// Reason codes of docs/protocol.md "Reason codes" (MQTT 5 reason codes).
const (
	CodeSuccess           byte = 0x00
	CodeUnspecified       byte = 0x80 // storage unavailable (outcome unknown), service closed, internal error
	CodeImplementation    byte = 0x83 // conflict, content rejected, no such message, window passed...
	CodeBadCredentials    byte = 0x86 // CONNACK: bad user name or password
	CodeNotAuthorized     byte = 0x87 // not a member, blocked, not allowed
	CodeServerBusy        byte = 0x89
	CodeBanned            byte = 0x8A // CONNACK: user disabled or banned
	CodeTopicInvalid      byte = 0x90 // invalid topic, bad reply topic
	CodeRateTooHigh       byte = 0x96
	CodeQuotaExceeded     byte = 0x97 // too large, group full, storage full...
	CodePayloadInvalid    byte = 0x99 // invalid payload
	CodeServerUnavailable byte = 0x88 // CONNACK: server unavailable
)

// permanent reports whether a CONNACK refusal with code cannot be fixed by
// connecting again with the same Config: 0x84 unsupported protocol version,
// 0x85 client id not valid, 0x86 bad user name or password (a revoked or
// expired token too), 0x87 not authorized, 0x8A banned, 0x8C bad
// authentication method. MQTT 3.1.1 return codes 1, 2, 4 and 5 map to
// 0x84, 0x85, 0x86 and 0x87. Other refusals (0x88 server unavailable,
// 0x89 busy, 0x97 quota...) are retried.
func permanent(code byte) bool {
	switch code {
	case 0x84, 0x85, CodeBadCredentials, CodeNotAuthorized, CodeBanned, 0x8C:
		return true
	}
	return false
}

// isRefusal reports whether err is a refusal by the server (*Error).
func isRefusal(err error) bool {
	var ie *Error
	return errors.As(err, &ie)
}

// Error is a refusal by the server: a send's ack, an rpc response, or a
// CONNACK with ok false. Code is the protocol reason code, Reason its text
// (it starts with the fixed text of docs/protocol.md). Use errors.As.
type Error struct {
	Code   byte
	Reason string
	Method string // rpc refusals: the method
	Topic  string // send refusals: the topic of the refused publish
	CID    string // send refusals: the message's cid
}

// Error implements error.
func (e *Error) Error() string {
	where := ""
	switch {
	case e.Method != "":
		where = " " + e.Method
	case e.Topic != "":
		where = " " + e.Topic
	}
	return fmt.Sprintf("imqtt:%s refused (0x%02X): %s", where, e.Code, e.Reason)
}
