package engine

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/imqtt/imqtt/hooks/ext"
)

// memStore is the tests' ext.Store: a small in-memory store that behaves as
// persist does for the engine (seqs per client id from a counter that
// survives DeleteSession, messages copied in and out, queue bound drop-new,
// expired messages left out of reads). It is a test double of a store, not
// of anything users run. It also checks the engine's contract that writes
// for one client id never overlap, and can refuse or hold writes.
type memStore struct {
	mu       sync.Mutex
	sessions map[string]ext.Session
	subs     map[string]map[string]ext.Subscription
	queues   map[string][]ext.Queued
	lastSeq  map[string]uint64
	released map[string]map[uint16]bool
	inbound  map[string]map[uint16]bool
	retained map[string]ext.StoredMessage
	maxQueue int // messages per queue; 0 = no bound

	failPublish error         // returned by Publish when set
	failPut     error         // returned by PutSession when set
	failSubs    error         // returned by Put/DeleteSubscriptions when set
	gate        chan struct{} // when set, writes wait for it to close
	waiting     int           // writes waiting at the gate
	active      map[string]int
	overlap     int // writes of one client id found running at once
	writes      []string
}

func newMemStore() *memStore {
	return &memStore{
		sessions: map[string]ext.Session{},
		subs:     map[string]map[string]ext.Subscription{},
		queues:   map[string][]ext.Queued{},
		lastSeq:  map[string]uint64{},
		released: map[string]map[uint16]bool{},
		inbound:  map[string]map[uint16]bool{},
		retained: map[string]ext.StoredMessage{},
		active:   map[string]int{},
	}
}

// begin marks a write for id (checking overlap) and waits at the gate.
func (m *memStore) begin(ctx context.Context, id, what string) (func(), error) {
	m.mu.Lock()
	m.active[id]++
	if id != "" && m.active[id] > 1 { // "": publishes, not one session's
		m.overlap++
	}
	m.writes = append(m.writes, what+" "+id)
	gate := m.gate
	if gate != nil {
		m.waiting++
	}
	m.mu.Unlock()
	end := func() {
		m.mu.Lock()
		m.active[id]--
		m.mu.Unlock()
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
		}
		m.mu.Lock()
		m.waiting--
		m.mu.Unlock()
	}
	if err := ctx.Err(); err != nil {
		end()
		return nil, err
	}
	// Let a concurrent write of the same id (an engine bug) overlap.
	time.Sleep(time.Millisecond)
	return end, nil
}

func (m *memStore) hold() {
	m.mu.Lock()
	m.gate = make(chan struct{})
	m.mu.Unlock()
}

func (m *memStore) open() {
	m.mu.Lock()
	if m.gate != nil {
		close(m.gate)
		m.gate = nil
	}
	m.mu.Unlock()
}

func (m *memStore) waitingWrites() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.waiting
}

func copyMessage(sm ext.StoredMessage) ext.StoredMessage {
	sm.Payload = bytes.Clone(sm.Payload)
	p := sm.Props
	p.CorrelationData = bytes.Clone(p.CorrelationData)
	p.User = slices.Clone(p.User)
	p.SubscriptionIdentifier = nil
	p.TopicAlias, p.TopicAliasFlag = 0, false
	sm.Props = p
	return sm
}

func copySession(s ext.Session) ext.Session {
	if s.Will != nil {
		w := *s.Will
		w.StoredMessage = copyMessage(w.StoredMessage)
		w.Props.MessageExpiryInterval = s.Will.Props.MessageExpiryInterval
		s.Will = &w
	}
	return s
}

func (m *memStore) Sessions(fn func(ext.Session, []ext.Subscription) error) error {
	m.mu.Lock()
	var ss []ext.Session
	var subs [][]ext.Subscription
	for _, s := range m.sessions {
		ss = append(ss, copySession(s))
		var l []ext.Subscription
		for _, sub := range m.subs[s.ClientID] {
			l = append(l, sub)
		}
		subs = append(subs, l)
	}
	m.mu.Unlock()
	for i := range ss {
		if err := fn(ss[i], subs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) Retained(fn func(ext.StoredMessage) error) error {
	m.mu.Lock()
	var l []ext.StoredMessage
	t := time.Now().UnixMilli()
	for _, r := range m.retained {
		if r.ExpiresAt == 0 || r.ExpiresAt > t {
			l = append(l, copyMessage(r))
		}
	}
	m.mu.Unlock()
	for _, r := range l {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) PutSession(ctx context.Context, s ext.Session) error {
	end, err := m.begin(ctx, s.ClientID, "put")
	if err != nil {
		return err
	}
	defer end()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failPut != nil {
		return m.failPut
	}
	m.sessions[s.ClientID] = copySession(s)
	return nil
}

func (m *memStore) DeleteSession(ctx context.Context, id string) error {
	end, err := m.begin(ctx, id, "delete")
	if err != nil {
		return err
	}
	defer end()
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, id)
	delete(m.subs, id)
	delete(m.queues, id)
	delete(m.released, id)
	delete(m.inbound, id)
	return nil
}

func (m *memStore) PutSubscriptions(ctx context.Context, id string, subs []ext.Subscription) error {
	end, err := m.begin(ctx, id, "subscribe")
	if err != nil {
		return err
	}
	defer end()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failSubs != nil {
		return m.failSubs
	}
	if m.subs[id] == nil {
		m.subs[id] = map[string]ext.Subscription{}
	}
	for _, s := range subs {
		m.subs[id][s.Filter] = s
	}
	return nil
}

func (m *memStore) DeleteSubscriptions(ctx context.Context, id string, filters []string) error {
	end, err := m.begin(ctx, id, "unsubscribe")
	if err != nil {
		return err
	}
	defer end()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failSubs != nil {
		return m.failSubs
	}
	for _, f := range filters {
		delete(m.subs[id], f)
	}
	return nil
}

func (m *memStore) Publish(ctx context.Context, p *ext.Publish) ([]uint64, error) {
	end, err := m.begin(ctx, "", "publish")
	if err != nil {
		return nil, err
	}
	defer end()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failPublish != nil {
		return nil, m.failPublish
	}
	seqs := make([]uint64, len(p.Copies))
	for i, c := range p.Copies {
		if m.maxQueue > 0 && len(m.queues[c.ClientID]) >= m.maxQueue {
			continue // drop-new
		}
		m.lastSeq[c.ClientID]++
		seq := m.lastSeq[c.ClientID]
		m.queues[c.ClientID] = append(m.queues[c.ClientID], ext.Queued{
			Seq: seq, Message: copyMessage(p.Message), QoS: c.QoS, Retain: c.Retain, SubIDs: slices.Clone(c.SubIDs),
		})
		seqs[i] = seq
	}
	if p.Retain {
		if len(p.Message.Payload) == 0 {
			delete(m.retained, p.Message.Topic)
		} else {
			m.retained[p.Message.Topic] = copyMessage(p.Message)
		}
	}
	if p.Inbound != 0 {
		if m.inbound[p.PublisherID] == nil {
			m.inbound[p.PublisherID] = map[uint16]bool{}
		}
		m.inbound[p.PublisherID][p.Inbound] = true
	}
	return seqs, nil
}

func (m *memStore) Queue(id string, after uint64, limit int) ([]ext.Queued, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := time.Now().UnixMilli()
	var out []ext.Queued
	for _, q := range m.queues[id] {
		if q.Seq <= after || (q.Message.ExpiresAt != 0 && q.Message.ExpiresAt <= t) {
			continue
		}
		q.Message = copyMessage(q.Message)
		q.SubIDs = slices.Clone(q.SubIDs)
		out = append(out, q)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

func (m *memStore) dequeueLocked(id string, through uint64) {
	q := m.queues[id]
	i := sort.Search(len(q), func(i int) bool { return q[i].Seq > through })
	m.queues[id] = slices.Clone(q[i:])
}

func (m *memStore) Dequeue(ctx context.Context, id string, through uint64) error {
	end, err := m.begin(ctx, id, "dequeue")
	if err != nil {
		return err
	}
	defer end()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dequeueLocked(id, through)
	return nil
}

func (m *memStore) Release(ctx context.Context, id string, pid uint16, seq uint64) error {
	end, err := m.begin(ctx, id, "release")
	if err != nil {
		return err
	}
	defer end()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.released[id] == nil {
		m.released[id] = map[uint16]bool{}
	}
	m.released[id][pid] = true
	m.dequeueLocked(id, seq)
	return nil
}

func (m *memStore) Complete(ctx context.Context, id string, pid uint16) error {
	end, err := m.begin(ctx, id, "complete")
	if err != nil {
		return err
	}
	defer end()
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.released[id], pid)
	return nil
}

func (m *memStore) CompleteInbound(ctx context.Context, id string, pid uint16) error {
	end, err := m.begin(ctx, id, "complete_inbound")
	if err != nil {
		return err
	}
	defer end()
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.inbound[id], pid)
	return nil
}

func (m *memStore) Flights(id string) (ext.Flights, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var f ext.Flights
	for pid := range m.released[id] {
		f.Released = append(f.Released, pid)
	}
	for pid := range m.inbound[id] {
		f.Inbound = append(f.Inbound, pid)
	}
	slices.Sort(f.Released)
	slices.Sort(f.Inbound)
	return f, nil
}

// session returns the stored record of id.
func (m *memStore) session(id string) (ext.Session, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	return s, ok
}

func (m *memStore) queueLen(id string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queues[id])
}

func (m *memStore) overlaps() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.overlap
}

var errStoreDown = errors.New("memstore: refused")

var _ ext.Store = (*memStore)(nil)
