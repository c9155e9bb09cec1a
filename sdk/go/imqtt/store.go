package imqtt

import (
	"maps"
	"slices"
	"sync"
)

// OutboxEntry is a send waiting for its ack: written to the Store before it
// is published, removed when its ack (ok or refused) arrives.
type OutboxEntry struct {
	CID     string `json:"cid"`
	Topic   string `json:"topic"`
	Payload []byte `json:"payload"`
	Created int64  `json:"created"` // unix ms; List orders by it
}

// Store persists what must survive a reconnect and a restart: the outbox,
// the per-conversation cursors and small meta values (the device's client
// id). Methods are called from several goroutines; implementations must be
// safe for concurrent use. Errors are returned to the caller of the Client
// method that needed the write (Send fails when its entry cannot be put).
type Store interface {
	// PutOutbox adds or replaces the entry with e.CID.
	PutOutbox(e OutboxEntry) error
	// DeleteOutbox removes the entry cid; a missing one is not an error.
	DeleteOutbox(cid string) error
	// ListOutbox returns the entries, oldest (Created, then CID) first.
	ListOutbox() ([]OutboxEntry, error)
	// Cursors returns the highest delivered seq of each conversation.
	Cursors() (map[string]int64, error)
	// SetCursor stores conv's cursor.
	SetCursor(conv string, seq int64) error
	// Get returns the meta value of key ("" and nil when unset).
	Get(key string) (string, error)
	// Set stores the meta value of key.
	Set(key, value string) error
}

// storeData is the content of a MemoryStore and of a FileStore's file.
type storeData struct {
	Outbox  map[string]OutboxEntry `json:"outbox"`
	Cursors map[string]int64       `json:"cursors"`
	Meta    map[string]string      `json:"meta"`
}

func newStoreData() storeData {
	return storeData{Outbox: map[string]OutboxEntry{}, Cursors: map[string]int64{}, Meta: map[string]string{}}
}

// sortedOutbox returns the entries of d oldest first.
func (d *storeData) sortedOutbox() []OutboxEntry {
	out := make([]OutboxEntry, 0, len(d.Outbox))
	for _, e := range d.Outbox {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b OutboxEntry) int {
		if a.Created != b.Created {
			if a.Created < b.Created {
				return -1
			}
			return 1
		}
		switch {
		case a.CID < b.CID:
			return -1
		case a.CID > b.CID:
			return 1
		}
		return 0
	})
	return out
}

// MemoryStore is a Store in memory: the outbox survives reconnects but not
// the process. The zero value is not usable; call NewMemoryStore.
type MemoryStore struct {
	records
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{records{d: newStoreData()}} }

// records is the Store implementation of MemoryStore and FileStore: the
// records in memory under a mutex, and persist (nil for MemoryStore) called
// with the mutex held after every change, whose error the change returns.
type records struct {
	mu      sync.Mutex
	d       storeData
	persist func(*storeData) error
}

// changed runs persist after a change. Callers hold r.mu.
func (r *records) changed() error {
	if r.persist == nil {
		return nil
	}
	return r.persist(&r.d)
}

// PutOutbox implements Store.
func (r *records) PutOutbox(e OutboxEntry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.Payload = slices.Clone(e.Payload)
	r.d.Outbox[e.CID] = e
	return r.changed()
}

// DeleteOutbox implements Store.
func (r *records) DeleteOutbox(cid string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.d.Outbox[cid]; !ok {
		return nil
	}
	delete(r.d.Outbox, cid)
	return r.changed()
}

// ListOutbox implements Store.
func (r *records) ListOutbox() ([]OutboxEntry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.d.sortedOutbox(), nil
}

// Cursors implements Store.
func (r *records) Cursors() (map[string]int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.d.Cursors), nil
}

// SetCursor implements Store.
func (r *records) SetCursor(conv string, seq int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.d.Cursors[conv] = seq
	return r.changed()
}

// Get implements Store.
func (r *records) Get(key string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.d.Meta[key], nil
}

// Set implements Store.
func (r *records) Set(key, value string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.d.Meta[key] = value
	return r.changed()
}
