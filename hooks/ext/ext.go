// Package ext holds the MQTT engine's extension interfaces: the typed Go
// interfaces through which authentication, authorisation, counts, cluster
// routing (route.go) and, as the engine grows, the durable session store and
// IM request handling plug into the engine (broker/engine). They live here, below the
// broker, because the hooks that implement them may not import broker
// (DESIGN.md: cmd -> broker -> hooks). Implementations hold no mochi types;
// the engine never calls them while holding one of its own locks unless a
// method's documentation says so.
package ext

import (
	"context"
	"crypto/tls"
	"net/netip"
)

// Client identifies one connected client to the extension interfaces. The
// engine fills it once the CONNECT is decoded; Username is replaced by the
// identity an Authenticator returns and never changes after the CONNACK.
type Client struct {
	ID              string         // the client identifier (assigned if the client sent none)
	Username        string         // "" for an anonymous client
	Listener        string         // the listener's name (listen.Config.ID)
	Remote          netip.AddrPort // the client's address (after a PROXY header, the real one)
	ProtocolVersion byte           // 3 (MQTT 3.1), 4 (3.1.1) or 5
	TLS             *tls.ConnectionState
	// TokenID and ExpiresAt come from the AuthResult: the id (jti) of the
	// minted token the client connected with ("" for none), and when its
	// credentials expire (unix milliseconds, 0 = never): the engine closes
	// the connection then.
	TokenID   string
	ExpiresAt int64
}

// ConnectRequest is what an Authenticator judges: the identity fields of a
// CONNECT and its will topic (the will's access is part of the decision, as
// mosquitto does). Password, WillTopic and AuthMethod alias the
// connection's read buffer (the codec decodes without copying): they are
// valid during Authenticate only; an implementation that keeps one copies
// it.
type ConnectRequest struct {
	Client       *Client
	UsernameFlag bool
	PasswordFlag bool
	Password     []byte // never logged
	CleanStart   bool
	WillFlag     bool
	WillTopic    string
	AuthMethod   string // MQTT 5 enhanced authentication method ("" when absent)
}

// AuthResult is an Authenticator's answer. Code 0 accepts; otherwise it is the
// MQTT 5 CONNACK reason code (0x86 Bad user name or password, 0x87 Not
// authorized, 0x9F Connection rate exceeded, ...), which the engine maps to a
// 3.1.1 return code (0x86 → 4, 0x87 → 5, other → 3).
type AuthResult struct {
	Identity string // the authenticated user; "" for anonymous
	Code     byte
	Reason   string // a short fixed word for logs and metrics (ReasonX of the implementation)
	// TokenID is the id of the minted token (tokens/) that authenticated
	// the client, "" otherwise; revoking it closes the connection.
	TokenID string
	// ExpiresAt is when the credentials expire (a JWT's exp), unix
	// milliseconds, 0 = never: the engine closes the connection then (MQTT
	// 5 DISCONNECT 0xA0 Maximum connect time).
	ExpiresAt int64
}

// Authenticator decides every CONNECT, before the CONNECT touches any
// session. Authenticate runs off the transport's workers, on a bounded pool
// of the engine's goroutines (a few per CPU), with the connection paused;
// it may block (bcrypt, JWT keys, the login throttle's wait) and is called
// concurrently for different connections. A wait that uses no CPU should
// give its place in the pool up (AuthIdle). ctx ends when the engine stops
// (not when the client closes: its attempt is still judged); an
// implementation that waits must return when it does (with a refusal).
type Authenticator interface {
	Authenticate(ctx context.Context, req *ConnectRequest) AuthResult
}

// Access is the kind of access an Authorizer judges.
type Access uint8

const (
	// AccessPublish is publishing to a topic name (the topic of a will
	// included, judged at CONNECT by the Authenticator and again when the will
	// is published).
	AccessPublish Access = iota + 1
	// AccessSubscribe is subscribing to a topic filter; for a shared
	// subscription the filter is "$share/{group}/{filter}" as sent.
	AccessSubscribe
	// AccessDeliver is receiving a message on a topic name: checked for every
	// delivery to a subscriber, retained messages included.
	AccessDeliver
)

// Authorizer decides every access. Allow must be fast, must not block and is
// called concurrently from many workers; it must be deterministic for a given
// rules generation.
type Authorizer interface {
	Allow(c *Client, topic string, a Access) bool
}

// Observer receives the engine's counts (hooks/metrics implements it). Every
// method must be cheap, non-blocking and safe for concurrent use.
type Observer interface {
	// ClientConnected: c's CONNACK (accepting) was queued; once per connection.
	ClientConnected(c *Client)
	// ClientDisconnected: a connection counted by ClientConnected ended; once.
	ClientDisconnected(c *Client, reason string)
	// PacketReceived / PacketSent: one packet; header is its first byte
	// (packet type << 4 | flags, so a PUBLISH's QoS is header>>1&3) and size
	// its whole length on the wire.
	PacketReceived(header byte, size int)
	PacketSent(header byte, size int)
	// MessageDropped: a message not delivered to one subscriber; reason is one
	// of the Drop* words below.
	MessageDropped(reason string)
	// LimitRefused: a request refused by a security bound; limit is the
	// bound's name (the limit label of imqtt_limit_refusals_total).
	LimitRefused(limit string)
}

// Reasons for Observer.MessageDropped (the reason label of
// imqtt_messages_dropped_total).
const (
	DropSlowSubscriber = "client_writes_pending" // the subscriber's pending bytes were full
	DropExpired        = "expired"               // the message expiry interval passed first
	DropTooLarge       = "packet_too_large"      // above the client's Maximum Packet Size
	DropQueueFull      = "queue_full"            // the session's offline queue was full
	DropInflightQuota  = "inflight_quota"        // no in-flight slot and no queue for it
	DropQueuedBytes    = "max_queued_bytes"      // the session's queue was at limits.max_queued_bytes
	DropQoS0Offline    = "qos_dropped"           // a QoS 0 message for a session without a connection
)

// Gauges are the broker's current sizes, read at scrape time for the
// imqtt_* gauge families (hooks/metrics), the same on either engine path.
type Gauges struct {
	Subscriptions        int64 // subscriptions held, shared group members included
	Retained             int64 // retained messages held ($SYS ones included)
	Inflight             int64 // outbound QoS 1/2 messages sent and not yet acknowledged
	ClientsConnected     int64 // sessions with a connection
	ClientsTotal         int64 // sessions known, connected or not
	SessionsDisconnected int64 // persistent sessions without a connection
}
