package ext

// A store shared by the nodes of a cluster (issue 17, task F): every node
// writes the same replicated state (raft), so each node's engine must learn,
// in log order, of the writes the other nodes made: their sessions and
// subscriptions (mirrored as sessions offline here, so every node matches
// every publish against every durable session and writes its copy), the
// copies enqueued for a session connected here (delivered from this node's
// replica), and the retained messages. hooks/storage EngineStore implements
// SharedStore over its persist observer; the engine implements StoreEvents.

// SharedStore is a Store whose state other nodes write too.
type SharedStore interface {
	Store
	// Node is this node's id, as the store writes it in Session.Node.
	Node() string
	// Leader reports whether this node runs the cluster's duties over the
	// shared state: the expiry of offline sessions (one node deletes them;
	// the others mirror the deletion).
	Leader() bool
	// Watch installs ev: from the call on, every write applied to this
	// node's replica that ev needs reaches it, in log order (below). A
	// second call replaces the first; nil removes it.
	Watch(ev StoreEvents)
	// Session reads one session and its subscriptions from this node's
	// replica; ok is false when there is none.
	Session(clientID string) (s Session, subs []Subscription, ok bool, err error)
}

// StoreEvents is told of the writes applied to a SharedStore's replica. Its
// methods are called one at a time, in log order, on the store's apply
// goroutine: they must be quick, must not block and must not call the
// store's write methods (they queue and return). A write that failed is not
// reported.
//
// Session writes (SessionPut, SessionDeleted, SubscriptionsPut,
// SubscriptionsDeleted) are reported only when another node made them: the
// engine made its own already. Enqueued and Retained are reported for every
// node's writes (this node's included): a wake for a seq already known does
// nothing, and the retained index follows the log alone.
type StoreEvents interface {
	// SessionPut: another node wrote s (a CONNECT there: DisconnectedAt 0;
	// a disconnect there; a changed will).
	SessionPut(s Session)
	// SessionDeleted: another node deleted clientID's session with its
	// subscriptions and queue (a clean start there, the leader's expiry).
	SessionDeleted(clientID string)
	// SubscriptionsPut / SubscriptionsDeleted: another node's SUBSCRIBE /
	// UNSUBSCRIBE of clientID.
	SubscriptionsPut(clientID string, subs []Subscription)
	SubscriptionsDeleted(clientID string, filters []string)
	// Enqueued: seq was added to clientID's queue. clientID "" (seq 0):
	// copies were added to queues the write does not name (a staged
	// fan-out committed); every session connected here reads its queue.
	Enqueued(clientID string, seq uint64)
	// Retained: the retained message of m.Topic is now m; an empty Payload
	// deletes it.
	Retained(m StoredMessage)
}
