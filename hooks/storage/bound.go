package storage

import (
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// Limit labels of the queue bound for LimitObserver.LimitRefused: the config
// keys of the bounds.
const (
	LimitQueueMessages = "storage.queue_max_messages"
	LimitQueueBytes    = "storage.queue_max_bytes"
)

// queueBound is the per-session queue bound, drop-new (doc.go "Queue
// bound"): a copy for a session whose durable queue already holds
// QueueMaxMessages messages or QueueMaxBytes bytes (topic + payload) is not
// enqueued for it; the publish goes on for the others. The counts are kept in
// memory per client id, loaded from persist.Store.QueueLen on first use and
// approximate: expiry and writes made by other nodes are seen only at the
// next load (forget). Safe for concurrent use; it never calls out under its
// lock.
type queueBound struct {
	maxMessages int
	maxBytes    int64
	store       *persist.Store
	limits      LimitObserver
	log         zerolog.Logger
	now         func() time.Time
	dropLog     logLimiter

	mu     sync.Mutex
	counts map[string]*queueCount
}

// queueCount is one session's accounted queue.
type queueCount struct {
	n     int
	bytes int64
}

func newQueueBound(maxMessages int, maxBytes int64, st *persist.Store, limits LimitObserver, log zerolog.Logger, now func() time.Time) *queueBound {
	return &queueBound{
		maxMessages: maxMessages, maxBytes: maxBytes, store: st, limits: limits, log: log,
		now: now, counts: make(map[string]*queueCount),
	}
}

// reserve accounts a copy of size bytes in id's queue; false (and the bound
// it hit: LimitQueueMessages or LimitQueueBytes) when the queue is full.
func (b *queueBound) reserve(id string, size int64) (bool, string) {
	b.mu.Lock()
	c := b.counts[id]
	b.mu.Unlock()
	if c == nil {
		loaded := &queueCount{}
		if n, bytes, err := b.store.QueueLen(id); err == nil {
			loaded.n, loaded.bytes = n, bytes
		}
		b.mu.Lock()
		if c = b.counts[id]; c == nil {
			c = loaded
			b.counts[id] = c
		}
		b.mu.Unlock()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case c.n+1 > b.maxMessages:
		return false, LimitQueueMessages
	case c.bytes+size > b.maxBytes:
		return false, LimitQueueBytes
	}
	c.n++
	c.bytes += size
	return true, ""
}

// unreserve undoes a reserve (a failed write) or accounts a dequeued copy.
func (b *queueBound) unreserve(id string, size int64) {
	b.mu.Lock()
	if c := b.counts[id]; c != nil {
		c.n = max(0, c.n-1)
		c.bytes = max(0, c.bytes-size)
	}
	b.mu.Unlock()
}

// forget drops id's counts: the next reserve loads them from the store (a
// dequeue whose sizes are not known here, a deleted session).
func (b *queueBound) forget(id string) {
	b.mu.Lock()
	delete(b.counts, id)
	b.mu.Unlock()
}

// dropped records a copy the bound dropped: counted with the limit it hit,
// warned at most once a second.
func (b *queueBound) dropped(id, topic, limit string) {
	if b.limits != nil {
		b.limits.LimitRefused(limit)
	}
	if n, ok := b.dropLog.allow(b.now()); ok {
		b.log.Warn().Str(logfield.ClientID, id).Str(logfield.Topic, topic).Str(logfield.Limit, limit).
			Int(logfield.Suppressed, n).Str(logfield.Reason, "queue full").Msg("message dropped for session")
	}
}
