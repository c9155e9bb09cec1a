package engine

import (
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
)

// The cluster's durable sessions (doc.go "Durable sessions in a cluster"):
// with a store shared by the nodes (ext.SharedStore) the engine mirrors the
// session writes of the other nodes, in log order, into its session table
// and index: a session connected or offline elsewhere is an offline durable
// session here (remote while connected elsewhere), so every node matches
// every publish against it and writes its copy through the store, and a
// reconnect here resumes it. The store reports the events on its apply
// goroutine (storeEvents); they are queued and applied in order by the
// mirror goroutine (mirrorLoop), except retained updates, applied at once
// (the retained index follows the log, so an acknowledged retained publish
// is in the index of its node before the PUBACK).

// mirrorRecheck is how long a follower waits before it looks again at an
// expired durable session the leader has not deleted yet.
const mirrorRecheck = 5 // seconds

// mkind is the kind of a mirrored write.
type mkind uint8

const (
	mPut mkind = iota + 1
	mDelete
	mSubs
	mUnsubs
	mEnqueued
	mRetained
)

// mevent is one write of another node (or an enqueue of any node).
type mevent struct {
	kind    mkind
	id      string
	rec     ext.Session
	subs    []ext.Subscription
	filters []string
	seq     uint64
	msg     ext.StoredMessage
}

// storeEvents implements ext.StoreEvents for the engine: it queues.
type storeEvents struct{ e *Engine }

var _ ext.StoreEvents = storeEvents{}

func (x storeEvents) SessionPut(r ext.Session) { x.e.push(mevent{kind: mPut, id: r.ClientID, rec: r}) }
func (x storeEvents) SessionDeleted(id string) { x.e.push(mevent{kind: mDelete, id: id}) }
func (x storeEvents) SubscriptionsPut(id string, subs []ext.Subscription) {
	x.e.push(mevent{kind: mSubs, id: id, subs: subs})
}
func (x storeEvents) SubscriptionsDeleted(id string, filters []string) {
	x.e.push(mevent{kind: mUnsubs, id: id, filters: filters})
}
func (x storeEvents) Enqueued(id string, seq uint64) {
	x.e.push(mevent{kind: mEnqueued, id: id, seq: seq})
}

// Retained applies a retained update at once, in log order (queued while
// New loads the index, so the load's older read does not come after it).
func (x storeEvents) Retained(m ext.StoredMessage) {
	e := x.e
	e.mmu.Lock()
	defer e.mmu.Unlock()
	if e.loading {
		e.mq = append(e.mq, mevent{kind: mRetained, msg: m})
		return
	}
	e.retainStored(&m)
}

// retainStored puts a stored retained message into the index (an empty
// payload deletes; an expired one is not kept).
func (e *Engine) retainStored(sm *ext.StoredMessage) {
	m := loadedMessage(sm)
	m.retain = true
	if len(m.payload) > 0 && m.expired(now().Unix()) {
		return
	}
	e.topics.retain(m)
}

// push queues ev for the mirror goroutine.
func (e *Engine) push(ev mevent) {
	e.mmu.Lock()
	e.mq = append(e.mq, ev)
	e.mmu.Unlock()
	select {
	case e.mwake <- struct{}{}:
	default:
	}
}

// loaded ends the load of New: the retained updates queued meanwhile are
// applied in order, later ones at once; the mirror goroutine starts.
func (e *Engine) loaded() {
	e.mmu.Lock()
	q := e.mq[:0]
	for _, ev := range e.mq {
		if ev.kind == mRetained {
			e.retainStored(&ev.msg)
		} else {
			q = append(q, ev)
		}
	}
	e.mq = q
	e.loading = false
	e.mmu.Unlock()
	e.wg.Add(1)
	go e.mirrorLoop()
	select {
	case e.mwake <- struct{}{}:
	default:
	}
}

// mirrorLoop applies the queued events in order until Close (e.done).
func (e *Engine) mirrorLoop() {
	defer e.wg.Done()
	for {
		select {
		case <-e.done:
			return
		case <-e.mwake:
		}
		for {
			e.mmu.Lock()
			q := e.mq
			e.mq = nil
			e.mmu.Unlock()
			if len(q) == 0 {
				break
			}
			for i := range q {
				e.mirror(&q[i])
			}
		}
	}
}

func (e *Engine) mirror(ev *mevent) {
	switch ev.kind {
	case mPut:
		e.mirrorPut(&ev.rec, nil, false)
	case mDelete:
		e.mirrorDelete(ev.id)
	case mSubs:
		e.mirrorSubs(ev.id, ev.subs, nil)
	case mUnsubs:
		e.mirrorSubs(ev.id, nil, ev.filters)
	case mEnqueued:
		e.wake(ev.id, ev.seq)
	}
}

// mirrorPut makes r, written by another node, this node's view of its
// session: created offline if unknown (its subscriptions come with their
// own writes), or updated. A session attached here is left alone (the
// router's TakeOver decides, then resync). With subs set (resync), the
// session's subscriptions become exactly subs. The session's delivery state
// is the store's from now: reloaded when a client attaches here.
func (e *Engine) mirrorPut(r *ext.Session, subs []ext.Subscription, resync bool) {
	var pub *will
	e.mu.Lock()
	defer func() {
		e.mu.Unlock()
		e.publishWill(pub)
	}()
	s := e.sessions[r.ClientID]
	if s != nil && s.cl != nil {
		return
	}
	if s != nil && (!s.durable || s.user != r.Username) {
		// Not this session any more (another user's clean start there).
		s.mu.Lock()
		pub, s.will = s.will, nil
		s.mu.Unlock()
		e.endLocked(s, false)
		s = nil
	}
	if s == nil {
		s = &session{e: e, id: r.ClientID, user: r.Username, durable: true, d: &dstate{high: unknownHigh}}
		e.sessions[s.id] = s
	}
	s.mu.Lock()
	s.info = &ext.Client{ID: s.id, Username: s.user, ProtocolVersion: r.ProtocolVersion}
	s.expiry = r.Expiry
	s.remote = r.DisconnectedAt == 0
	s.reload = true
	// The session's last connection is the other node's: so is its will.
	s.will, s.willAt = nil, 0
	*s.d = dstate{high: unknownHigh}
	s.inflight, s.queue, s.queued, s.inQoS2 = nil, nil, 0, nil
	if resync {
		keep := make(map[string]bool, len(subs))
		for _, sub := range subs {
			keep[sub.Filter] = true
		}
		for f := range s.subs {
			if !keep[f] {
				delete(s.subs, f)
				e.topics.unsubscribe(s, f)
			}
		}
		s.subscribeStored(subs)
	}
	if s.remote {
		s.offlineAt = 0
	} else {
		s.offlineAt = r.DisconnectedAt
	}
	s.mu.Unlock()
	if s.remote {
		delete(e.offline, s) // connected elsewhere: never expires here
	} else {
		e.offline[s] = struct{}{}
		e.scheduleLocked(s, s.offlineAt+int64(s.expiry)*1000)
	}
	e.countLocked(s)
}

// subscribeStored adds stored subscriptions to s and the index (s.mu held).
func (s *session) subscribeStored(subs []ext.Subscription) {
	for _, sub := range subs {
		o := subOpts{id: sub.Identifier, qos: min(sub.QoS, s.e.cfg.MaxQoS), rh: sub.RetainHandling, noLoc: sub.NoLocal, rap: sub.RetainAsPublished}
		if s.subs == nil {
			s.subs = make(map[string]subOpts, len(subs))
		}
		s.subs[sub.Filter] = o
		s.e.topics.subscribe(s, sub.Filter, o)
	}
}

// mirrorDelete ends the session another node deleted, unless a client is
// attached here; a will it was waiting with goes now (its session ends).
func (e *Engine) mirrorDelete(id string) {
	e.mu.Lock()
	s := e.sessions[id]
	if s == nil || s.cl != nil {
		e.mu.Unlock()
		return
	}
	s.mu.Lock()
	w := s.will
	s.will, s.willAt = nil, 0
	s.mu.Unlock()
	e.endLocked(s, false) // deleted already
	e.mu.Unlock()
	e.publishWill(w)
}

// mirrorSubs applies another node's SUBSCRIBE (subs) or UNSUBSCRIBE
// (filters) of a durable session not attached here.
func (e *Engine) mirrorSubs(id string, subs []ext.Subscription, filters []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.sessions[id]
	if s == nil || !s.durable {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != nil {
		return
	}
	s.subscribeStored(subs)
	for _, f := range filters {
		if _, ok := s.subs[f]; ok {
			delete(s.subs, f)
			e.topics.unsubscribe(s, f)
		}
	}
}

// wake tells the durable session id, if a client is attached here, that
// its queue holds seq (0 with id "": every such session reads its queue).
func (e *Engine) wake(id string, seq uint64) {
	var ss []*session
	e.mu.Lock()
	if id == "" {
		for _, s := range e.sessions {
			if s.durable && s.online.Load() {
				ss = append(ss, s)
			}
		}
	} else if s := e.sessions[id]; s != nil && s.durable {
		ss = append(ss, s)
	}
	e.mu.Unlock()
	for _, s := range ss {
		s.mu.Lock()
		if d := s.d; d != nil && !s.ended && s.live() != nil {
			if seq == 0 {
				d.high = unknownHigh
			} else if d.high != unknownHigh && seq > d.high {
				d.high = seq
			}
			s.fillDurable(nil)
		}
		s.mu.Unlock()
	}
}

// lookupStored makes the session of id known before a CONNECT attaches it, from
// the replica, when the table does not have it (a session another node
// wrote whose event is not applied yet).
func (e *Engine) lookupStored(id string) {
	if e.shared == nil {
		return
	}
	e.mu.Lock()
	known := e.sessions[id] != nil
	e.mu.Unlock()
	if known {
		return
	}
	r, subs, ok, err := e.shared.Session(id)
	if err != nil {
		e.log.Warn().Err(err).Str(logfield.ClientID, id).Msg("store session read")
		return
	}
	if ok && r.Node != e.shared.Node() {
		e.mirrorPut(&r, subs, true)
	}
}

// resync makes the session id, just taken over by another node, the
// replica's: its record and exactly its subscriptions (writes of the other
// node applied while the client was attached here were not mirrored).
func (e *Engine) resync(id string) {
	r, subs, ok, err := e.shared.Session(id)
	if err != nil {
		e.log.Warn().Err(err).Str(logfield.ClientID, id).Msg("store session read")
		return
	}
	if !ok {
		e.mirrorDelete(id)
		return
	}
	e.mirrorPut(&r, subs, true)
}

// reloadFlights reads the stored in-flight state of a session whose
// delivery state is the store's (mirrored, or taken over from another node)
// before a client attached here resumes it. Off every lock.
func (e *Engine) reloadFlights(s *session) error {
	s.mu.Lock()
	reload := s.reload
	s.mu.Unlock()
	if !reload {
		return nil
	}
	fl, err := e.store.Flights(s.id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reload = false
	*s.d = dstate{high: unknownHigh}
	for _, id := range fl.Released {
		if s.d.rel == nil {
			s.d.rel = make(map[uint16]relState, len(fl.Released))
		}
		s.d.rel[id] = relState{stored: true}
	}
	s.inQoS2 = nil
	for _, id := range fl.Inbound {
		if s.inQoS2 == nil {
			s.inQoS2 = make(map[uint16]bool, len(fl.Inbound))
		}
		s.inQoS2[id] = true
	}
	return nil
}
