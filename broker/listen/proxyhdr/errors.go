package proxyhdr

import "errors"

var (
	// ErrNoHeader is returned by Read when the stream does not start with a
	// PROXY protocol signature (a client speaking MQTT or TLS directly to a
	// PROXY listener, or a load balancer without send-proxy).
	ErrNoHeader = errors.New("no proxy protocol header")
	// ErrMalformed is returned by Read when the stream starts with a PROXY
	// signature but the header is not valid: a bad v1 line, a v1 line split
	// across reads, an unsupported v2 version, command, family or length, a
	// truncated header. The parser's error is wrapped as well.
	ErrMalformed = errors.New("malformed proxy protocol header")
	// ErrTimeout is returned by Read when the header did not arrive within the
	// timeout; os.ErrDeadlineExceeded is wrapped as well.
	ErrTimeout = errors.New("proxy protocol header timeout")
	// ErrInvalidTrusted is returned by NewPolicy and ParseTrusted for an entry
	// that is not an IP address or CIDR prefix, for an empty list, and for an
	// unknown untrusted policy; the message names the entry.
	ErrInvalidTrusted = errors.New("invalid proxy protocol trust setting")
)
