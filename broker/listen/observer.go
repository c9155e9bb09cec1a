package listen

// Observer is told about listener-level events, for metrics. Implementations must be
// safe for concurrent use and must not block. The broker wires the Prometheus
// collector (broker/admin) in; tests may pass nil, which NewGuard replaces with a no-op.
type Observer interface {
	// Accepted counts a connection that passed the accept-time limits.
	Accepted(listener string)
	// AcceptError counts a failed Accept (EMFILE, ENFILE, ...) that the loop retries.
	AcceptError(listener string, err error)
	// Rejected counts a connection closed by a limit; reason is one of the
	// Reason* constants.
	Rejected(listener, reason string)
	// Panic counts a panic recovered while serving one client.
	Panic(listener string)
}

// Reasons a connection is refused or closed by the listener guard.
const (
	ReasonMaxConnections   = "max_connections"
	ReasonPerIPConnections = "per_ip_connections"
	ReasonPerIPRate        = "per_ip_rate"
	ReasonConnectTimeout   = "connect_timeout"
	ReasonFirstPacketSize  = "first_packet_too_large"
	ReasonFirstPacketType  = "first_packet_not_connect"
	// ReasonFirstPacketMalformed is used when the first packet's remaining length
	// is not a valid variable byte integer (more than 4 bytes).
	ReasonFirstPacketMalformed = "first_packet_malformed"
	ReasonTLSHandshake         = "tls_handshake"
	// ReasonPacketTooLarge is used when a packet after CONNECT is larger than
	// Limits.MaxPacketSize.
	ReasonPacketTooLarge = "packet_too_large"
	// ReasonMalformedLength is used when a packet after CONNECT has a remaining
	// length longer than 4 bytes (checked only with Limits.MaxPacketSize set).
	ReasonMalformedLength = "malformed_length"
	// ReasonProxyHeader is used when a trusted peer of a PROXY protocol
	// listener sends no PROXY header, or a malformed one.
	ReasonProxyHeader = "proxy_header"
	// ReasonProxyUntrusted is used when a peer outside proxy_trusted connects
	// to a PROXY protocol listener with proxy_untrusted: refuse.
	ReasonProxyUntrusted = "proxy_untrusted"
)

// nopObserver is the Observer used when none is given.
type nopObserver struct{}

func (nopObserver) Accepted(string)           {}
func (nopObserver) AcceptError(string, error) {}
func (nopObserver) Rejected(string, string)   {}
func (nopObserver) Panic(string)              {}
