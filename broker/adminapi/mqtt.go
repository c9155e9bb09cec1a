package adminapi

import "time"

// MQTT is what the API reads and acts on of the node's MQTT side: its
// connected clients, the sessions it holds in memory, its retained index.
// The broker implements it over the engine (broker/engine), so this package
// holds no engine type.
// Every method is safe for concurrent use and returns copies the API may
// keep.
type MQTT interface {
	// ConnectedCount is the number of clients connected to this node.
	ConnectedCount() int
	// Clients returns the clients connected to this node now (not offline
	// sessions, not the server's own inline client), in any order.
	Clients() []ConnectedClient
	// Client returns the connected client with client id id.
	Client(id string) (ConnectedClient, bool)
	// Kick ends the connection of the connected client id: an MQTT 5 client
	// first gets DISCONNECT 0x98 (administrative action), a 3.1.1 client is
	// closed. The session stays, as after any connection loss. It returns
	// the client's protocol version, and false when id is not connected.
	Kick(id string) (version byte, ok bool)
	// Sessions returns every session the node holds in memory, connected or
	// offline, with its subscriptions, in any order.
	Sessions() []MemorySession
	// HasSession reports whether the node holds a session for id in memory,
	// connected or offline.
	HasSession(id string) bool
	// ExpireSession makes the durable layer forget the offline session id
	// and delete it durably, as when it expires; nothing when storage is
	// off or the node holds no session for id.
	ExpireSession(id string)
	// ForgetSession drops the offline session id from the node's memory,
	// so a client connecting with that id gets Session Present 0; nothing
	// when its client is connected (it came back) or there is none.
	ForgetSession(id string)
	// Retained returns the retained messages of the node's index whose
	// topic filter (valid, not shared) matches, in any order.
	Retained(filter string) []Retained
	// PublishEmptyRetained publishes an empty retained QoS 0 message to
	// topic through the node's own publish path, like `mosquitto_pub -r -n`:
	// the durable layer deletes the retained message, the index drops it and
	// current subscribers receive the empty message [MQTT-3.3.1-10].
	PublishEmptyRetained(topic string) error
	// ClearRetained drops topic's retained message from the node's index
	// only, when the publish did not.
	ClearRetained(topic string)
}

// ConnectedClient is one connected client as MQTT returns it.
type ConnectedClient struct {
	ID       string
	User     string // the authenticated identity, "" for anonymous
	Listener string
	Remote   string
	// ProtocolVersion is 3, 4 or 5.
	ProtocolVersion byte
	Keepalive       uint16
	// Clean is Clean Session (3.1.1) or Clean Start (5) of the CONNECT.
	Clean bool
	// SessionExpiry is the Session Expiry Interval in force (MQTT 5).
	SessionExpiry uint32
	// ConnectedAt is when the session was established; zero if unknown.
	ConnectedAt time.Time
	// Inflight counts outbound QoS 1/2 messages waiting for their acks.
	Inflight int
	// Subscriptions are sorted by filter (ClientID and Online unset).
	Subscriptions []Subscription
	// WillTopic is the topic of the client's will, "" without one.
	WillTopic string
}

// MemorySession is one session the node holds in memory.
type MemorySession struct {
	ClientID string
	Online   bool
	// Subscriptions are sorted by filter (ClientID and Online unset).
	Subscriptions []Subscription
}
