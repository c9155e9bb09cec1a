package storage

import (
	"errors"
	"fmt"
	"sync"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/persist"
)

// The engine store's side of a cluster (doc.go "Engine store", "Cluster"):
// EngineStore is an ext.SharedStore. Observe, the store's persist observer,
// turns every applied entry into the engine's ext.StoreEvents, in log
// order, leaving out the session writes this node made itself:
//
//   - PutSession records carry this node's id (persist.Session.NodeID): a
//     record of another node is reported, one of this node is not.
//   - DeleteSession, Put- and DeleteSubscription carry no node id: each of
//     this store's writes of them holds a token (kind and client id) from
//     before its Apply until it returns; the first entry applied with a
//     matching first op takes the token and is not reported. (Apply
//     returns after the entry is applied here, so the token is there when
//     it is.) Another node's identical write in that window may be taken
//     for this one's; the two have the same effect.
//
// Enqueues and retained updates are reported whoever wrote them.

// ownKey names one of this store's session writes in flight.
type ownKey struct {
	kind   persist.OpKind
	client string
}

// ownToken is one write in flight; taken once the observer saw it.
type ownToken struct{ taken bool }

// events holds the watcher and the session writes in flight.
type events struct {
	mu    sync.Mutex
	watch ext.StoreEvents
	own   map[ownKey][]*ownToken
}

var _ ext.SharedStore = (*EngineStore)(nil)

// Node implements ext.SharedStore: the node id written in session records.
func (e *EngineStore) Node() string { return e.opts.NodeID }

// Leader implements ext.SharedStore (EngineOptions.IsLeader; nil: always).
func (e *EngineStore) Leader() bool { return e.opts.IsLeader == nil || e.opts.IsLeader() }

// Watch implements ext.SharedStore.
func (e *EngineStore) Watch(ev ext.StoreEvents) {
	e.ev.mu.Lock()
	e.ev.watch = ev
	e.ev.mu.Unlock()
}

// Session implements ext.SharedStore: one record and its subscriptions
// from this node's replica.
func (e *EngineStore) Session(clientID string) (ext.Session, []ext.Subscription, bool, error) {
	r, err := e.opts.Store.Session(clientID)
	if errors.Is(err, persist.ErrNotFound) {
		return ext.Session{}, nil, false, nil
	}
	if err != nil {
		return ext.Session{}, nil, false, fmt.Errorf("read session %q: %w", clientID, err)
	}
	ps, err := e.opts.Store.Subscriptions(clientID)
	if err != nil {
		return ext.Session{}, nil, false, fmt.Errorf("read subscriptions of %q: %w", clientID, err)
	}
	subs := make([]ext.Subscription, len(ps))
	for i := range ps {
		subs[i] = extSubscription(&ps[i])
	}
	return extSession(&r), subs, true, nil
}

// applyOwn is apply for a session write whose entry the observer must not
// report: a token for (kind, client) is held while it runs.
func (e *EngineStore) applyOwn(kind persist.OpKind, client string, fn func() error) error {
	k := ownKey{kind, client}
	tok := &ownToken{}
	e.ev.mu.Lock()
	if e.ev.own == nil {
		e.ev.own = make(map[ownKey][]*ownToken)
	}
	e.ev.own[k] = append(e.ev.own[k], tok)
	e.ev.mu.Unlock()
	defer func() {
		e.ev.mu.Lock()
		defer e.ev.mu.Unlock()
		ts := e.ev.own[k]
		for i, t := range ts {
			if t == tok {
				ts = append(ts[:i], ts[i+1:]...)
				break
			}
		}
		if len(ts) == 0 {
			delete(e.ev.own, k)
		} else {
			e.ev.own[k] = ts
		}
	}()
	return fn()
}

// takeOwn reports whether an entry whose first op is (kind, client) is one
// of this store's writes in flight, taking its token (e.ev.mu held).
func (e *EngineStore) takeOwn(kind persist.OpKind, client string) bool {
	for _, t := range e.ev.own[ownKey{kind, client}] {
		if !t.taken {
			t.taken = true
			return true
		}
	}
	return false
}

// Observe is the persist observer of this node's store (the broker combines
// it with the others'): it reports the applied entries to the watcher (see
// above) and makes the queue bound forget a session another node dequeued
// (its count is re-read at the next copy).
func (e *EngineStore) Observe(_ uint64, batches [][]persist.Op, results [][]persist.Result) {
	e.ev.mu.Lock()
	defer e.ev.mu.Unlock()
	w := e.ev.watch
	for bi, batch := range batches {
		if len(batch) == 0 {
			continue
		}
		var res []persist.Result
		if bi < len(results) {
			res = results[bi]
		}
		failed := func(i int) bool { return i < len(res) && res[i].Err != nil }
		switch k := batch[0].Kind; k {
		case persist.OpDeleteSession, persist.OpPutSubscription, persist.OpDeleteSubscription:
			if e.takeOwn(k, batch[0].Client) {
				continue
			}
		}
		if w == nil {
			for i := range batch {
				if batch[i].Kind == persist.OpDequeueThrough && !failed(i) {
					e.core.bound.forget(batch[i].Client)
				}
			}
			continue
		}
		e.report(w, batch, res, failed)
	}
}

// report tells w about one foreign-or-shared entry (e.ev.mu held).
func (e *EngineStore) report(w ext.StoreEvents, batch []persist.Op, res []persist.Result, failed func(int) bool) {
	var subs []ext.Subscription
	var filters []string
	var subsOf, unsubsOf string
	flush := func() {
		if len(subs) > 0 {
			w.SubscriptionsPut(subsOf, subs)
			subs = nil
		}
		if len(filters) > 0 {
			w.SubscriptionsDeleted(unsubsOf, filters)
			filters = nil
		}
	}
	for i := range batch {
		op := &batch[i]
		if failed(i) {
			continue
		}
		if op.Kind != persist.OpPutSubscription && op.Kind != persist.OpDeleteSubscription {
			flush()
		}
		switch op.Kind {
		case persist.OpPutSession:
			if op.Session != nil && op.Session.NodeID != e.opts.NodeID {
				w.SessionPut(extSession(op.Session))
			}
		case persist.OpDeleteSession:
			w.SessionDeleted(op.Client)
		case persist.OpPutSubscription:
			if len(filters) > 0 || (len(subs) > 0 && subsOf != op.Client) {
				flush()
			}
			if op.Subscription != nil {
				subsOf = op.Client
				subs = append(subs, extSubscription(op.Subscription))
			}
		case persist.OpDeleteSubscription:
			if len(subs) > 0 || (len(filters) > 0 && unsubsOf != op.Client) {
				flush()
			}
			unsubsOf = op.Client
			filters = append(filters, op.Filter)
		case persist.OpEnqueue, persist.OpEnqueueRef:
			if i < len(res) && res[i].Seq != 0 {
				w.Enqueued(op.Client, res[i].Seq)
			}
		case persist.OpCommitBody:
			if i < len(res) && res[i].Count > 0 {
				w.Enqueued("", 0)
			}
		case persist.OpDequeueThrough:
			e.core.bound.forget(op.Client)
		case persist.OpPutRetained, persist.OpPutRetainedOwned:
			if op.Message != nil {
				w.Retained(storedMessage(op.Message))
			}
		case persist.OpDeleteRetained:
			w.Retained(ext.StoredMessage{Topic: op.Topic})
		}
	}
	flush()
}
