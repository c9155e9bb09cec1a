package ext

import (
	"context"
	"errors"

	"github.com/mochi-mqtt/server/v2/packets"
)

// The durable session store (issue 17): the engine keeps every session in
// memory and, when Options.Store is set, writes the state of its persistent
// sessions (3.1.1 clean session 0, MQTT 5 Session Expiry > 0) through a
// Store before it acknowledges anything that depends on it. hooks/storage
// implements it over persist and the raft node (cluster.Node.Apply); the
// guarantees are persist/DESIGN.md's: a write returns after the raft entry
// is committed and applied here, an acknowledged QoS 1/2 message is never
// lost, a session's queue is read in seq order.
//
// Clean sessions (3.1.1 clean session 1, v5 Session Expiry 0) never touch
// the Store, except DeleteSession when a clean start replaces a stored
// session of the same client id.
//
// Write methods take a ctx (the engine's life, bounded by the store's own
// apply timeout) and block until the write is durable; the engine calls
// them off its locks and off transport workers (the connection that waits
// for one is paused, see broker/engine doc.go "Durable sessions"). Read
// methods read this node's replica and do not block on the network.

// Errors of a Store write the engine answers with a reason code; any other
// error is 0x80 (Unspecified error) on v5 and a closed connection on 3.1.1.
var (
	// ErrQuotaExceeded: a retained message over its owner's quota
	// (retained.max_per_user, retained.max_bytes_per_user): 0x97.
	ErrQuotaExceeded = errors.New("quota exceeded")
	// ErrDiskFull: the node refuses writes until space is freed: 0x97.
	ErrDiskFull = errors.New("disk full")
)

// StoredMessage is an application message as the store keeps it.
type StoredMessage struct {
	Topic   string
	Payload []byte
	// Props are the PUBLISH properties that travel with the message (payload
	// format, content type, response topic, correlation data, user
	// properties). MessageExpiryInterval, TopicAlias and
	// SubscriptionIdentifier are ignored: the expiry is ExpiresAt, the others
	// belong to one delivery.
	Props     packets.Properties
	QoS       byte   // the publish's QoS (a copy's own QoS is in Copy)
	Retain    bool   // the publish's RETAIN flag
	Origin    string // the publisher's client id (No Local), "" for the server
	Created   int64  // unix milliseconds
	ExpiresAt int64  // unix milliseconds; 0 = never
}

// Will is a session's stored will. Its Message Expiry Interval starts when
// the will is published, so it travels in Props.MessageExpiryInterval
// (seconds, 0 = none) and ExpiresAt is 0: the store must keep that one
// property for a will. Created and ExpiresAt are not stored (0 when read
// back) and Origin reads back as the session's ClientID.
type Will struct {
	StoredMessage
	Delay uint32 // Will Delay Interval, seconds
}

// Session is one persistent session's record.
type Session struct {
	ClientID        string
	Username        string // the identity that owns it
	ProtocolVersion byte   // 3, 4 or 5
	Expiry          uint32 // Session Expiry Interval, seconds; 0xFFFFFFFF = never
	// DisconnectedAt is when its last connection ended (unix milliseconds);
	// 0 while a connection is attached (on some node).
	DisconnectedAt int64
	Will           *Will // nil: none
	// Node is the node of the session's last connection: a SharedStore
	// sets it to its own Node() on PutSession (the engine leaves it
	// empty) and reads it back; "" for a record without one.
	Node string
}

// Subscription is one stored subscription of a session.
type Subscription struct {
	Filter            string // as sent, "$share/{group}/" included
	QoS               byte
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte
	Identifier        uint32 // 0 = none
}

// Copy is one target session of a durable publish: its effective QoS,
// RETAIN flag (Retain As Published) and subscription identifiers.
type Copy struct {
	ClientID string
	QoS      byte
	Retain   bool
	SubIDs   []int
}

// Publish is one message made durable in one write: a copy per persistent
// target and, with Retain, the retained update of its topic.
type Publish struct {
	Message StoredMessage
	Copies  []Copy
	// Retain updates the retained message of Message.Topic (an empty payload
	// deletes it [MQTT-3.3.1-6]) in the same write.
	Retain bool
	// Owner is the user the retained update is charged to (the retained
	// quota); Inline is set for the server's own messages and wills
	// published after their client is gone (not charged).
	Owner  string
	Inline bool
	// Inbound, when non-zero, records the publisher's QoS 2 packet id
	// (PUBREC sent, PUBREL awaited) for PublisherID in the same write, so a
	// re-sent PUBLISH after a restart is not delivered twice
	// [MQTT-4.3.3-10]; CompleteInbound removes it at the PUBREL.
	PublisherID string
	Inbound     uint16
}

// Queued is one message of a session's durable queue.
type Queued struct {
	Seq     uint64 // per client id, increasing, never reused
	Message StoredMessage
	QoS     byte
	Retain  bool
	SubIDs  []int
}

// Flights is a session's stored in-flight state.
type Flights struct {
	// Released are outbound QoS 2 packet ids whose PUBREC was received and
	// made durable (Release): the session resumes them with PUBREL.
	Released []uint16
	// Inbound are the client's QoS 2 packet ids awaiting PUBREL.
	Inbound []uint16
}

// PacketIDFor is the packet id of queued message seq: ((seq-1) mod 65535)+1,
// so a re-send after a reconnect or a restart reuses the id the client saw
// [MQTT-4.4.0-1] without a durable write per send.
func PacketIDFor(seq uint64) uint16 { return uint16((seq-1)%65535 + 1) }

// Store is the durable session store. Every method is safe for concurrent
// use; writes for one client id are made by the engine in order (it never
// has two writes of one session's record in flight at once).
type Store interface {
	// Sessions calls fn for every stored session with its subscriptions, at
	// start (before the engine accepts connections).
	Sessions(fn func(Session, []Subscription) error) error
	// Retained calls fn for every stored retained message not expired.
	Retained(fn func(StoredMessage) error) error

	// PutSession writes a session's record (CONNECT before its CONNACK,
	// DISCONNECT or a lost connection with DisconnectedAt, a changed will).
	PutSession(ctx context.Context, s Session) error
	// DeleteSession removes a session with its subscriptions, queue and
	// in-flight records (clean start over it, expiry).
	DeleteSession(ctx context.Context, clientID string) error
	// PutSubscriptions / DeleteSubscriptions write one SUBSCRIBE's /
	// UNSUBSCRIBE's filters in one write, before the SUBACK / UNSUBACK.
	PutSubscriptions(ctx context.Context, clientID string, subs []Subscription) error
	DeleteSubscriptions(ctx context.Context, clientID string, filters []string) error

	// Publish makes p durable, before the publisher's PUBACK/PUBREC. It
	// returns one seq per copy, in order; 0 for a copy its session's queue
	// bound dropped (the others are kept). An error wrapping
	// ErrQuotaExceeded means nothing was written.
	Publish(ctx context.Context, p *Publish) ([]uint64, error)
	// Queue reads up to limit messages of clientID's queue with seq > after,
	// in seq order, expired ones left out.
	Queue(clientID string, after uint64, limit int) ([]Queued, error)
	// Dequeue removes clientID's queued messages with seq <= through (they
	// were acknowledged: PUBACK, PUBREC, or sent at QoS 0).
	Dequeue(ctx context.Context, clientID string, through uint64) error
	// Release records outbound QoS 2 packet id (the PUBREC of queued message
	// seq) as released and dequeues through seq, in one write, before the
	// PUBREL is sent: after a crash the session resumes with PUBREL.
	Release(ctx context.Context, clientID string, packetID uint16, seq uint64) error
	// Complete forgets a released outbound packet id (its PUBCOMP).
	Complete(ctx context.Context, clientID string, packetID uint16) error
	// CompleteInbound forgets an inbound QoS 2 packet id (its PUBREL).
	CompleteInbound(ctx context.Context, clientID string, packetID uint16) error
	// Flights reads clientID's stored in-flight state.
	Flights(clientID string) (Flights, error)
}
