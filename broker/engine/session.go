package engine

import (
	"sync"
	"sync/atomic"

	"github.com/imqtt/imqtt/hooks/ext"
)

// session is one client identifier's MQTT session: it outlives connections
// while its Session Expiry Interval runs (in memory, and with a store
// durably: doc.go "Durable sessions"). Every field is guarded by mu unless
// noted. Maps and slices
// are created on first use so an idle session with one subscription holds a
// handful of words plus its one map entry.
type session struct {
	e    *Engine
	id   string
	user string // the identity that created it (guarantee 6)

	online atomic.Bool // s.cl != nil, readable without mu (shared-group choice)

	// counted: the session is one of its user's persistent sessions in
	// Engine.perUser (bounds.go). Guarded by Engine.mu.
	counted bool

	mu     sync.Mutex
	cl     *client     // the current connection, nil while offline
	info   *ext.Client // the last connection's identity (AccessDeliver while offline)
	subs   map[string]subOpts
	expiry uint32 // Session Expiry Interval, seconds
	ended  bool   // removed from the table; late deliveries are dropped
	// remote: a durable session connected on another node (mirror.go):
	// offline here and never expired here. reload: its delivery state is
	// the store's (mirrored or taken over), read again when a client
	// attaches here. Written under Engine.mu and mu.
	remote bool
	reload bool
	// durable: a persistent session written through Options.Store (set when
	// the session is created, never changed, so read without mu); its queue
	// is the store's and d holds its window (durqueue.go).
	durable bool

	offlineAt int64 // unix milliseconds when the last connection closed
	will      *will // a delayed will waiting for willAt
	willAt    int64 // unix milliseconds

	inflight map[uint16]*flight // outbound QoS 1/2 waiting for their acks
	queue    []delivery         // outbound QoS 1/2 waiting for the window, a drain or a connection
	queued   int64              // bytes in queue (limits.max_queued_bytes)
	lastID   uint16             // the last packet id handed out
	seq      uint64             // send order of flights (resend order)
	inQoS2   map[uint16]bool    // inbound QoS 2 ids: PUBREC sent, PUBREL awaited; true = in the store
	draining bool               // a drain waiter runs (deliver.go)
	// full: closed when the queue drains below its low mark or the
	// connection goes (queuefull.go); publishers paused on it wait.
	full chan struct{}
	// ackAt: unix milliseconds of the last outbound ack or attach, the
	// subscriber's progress (a publisher is paused only while it reads).
	ackAt int64
	d     *dstate // durable sessions only (durqueue.go)
}

// delivery is one message on its way to one session: the subscription's
// QoS, retain flag and identifiers are applied.
type delivery struct {
	m      *message
	subIDs []int
	qos    byte
	retain bool
}

// flight is an outbound QoS 1/2 message sent (or to be sent) under a packet
// id.
type flight struct {
	d      delivery
	seq    uint64
	pubrec bool // QoS 2: PUBREC received, PUBREL sent
}

// live returns the connection packets may be sent to: attached, with its
// CONNACK queued (a durable session attaches before its record is written
// and the CONNACK follows the write). s.mu held.
func (s *session) live() *client {
	if s.cl != nil && s.cl.ready {
		return s.cl
	}
	return nil
}
