package persist

import "sync"

// Observer is told about every entry Apply committed, on every node, in log
// order, after the effects are visible to readers: index, the op batches and
// their results. It runs on the applying goroutine (raft's FSM goroutine)
// with the store's writer lock held: it must be quick, must not call Apply or
// wait for anything that does, and must not keep or modify the slices. It is
// how a node learns about state changes another node made (hooks/storage
// keeps mochi's session, subscription and retained indexes in step with it;
// accounts disconnects the devices of a user disabled on another node).
//
// A Restore replaces the state without calling the observer.
type Observer func(index uint64, batches [][]Op, results [][]Result)

// observers is the set of installed observers. The list is copy-on-write:
// Apply loads it without a lock; installers serialise on mu and publish a
// new slice.
type observers struct {
	mu     sync.Mutex // serialises changes to list
	nextID uint64     // guarded by mu
	set    *observerEntry
	list   []*observerEntry // AddObserver's, in the order added; guarded by mu
}

type observerEntry struct {
	id uint64
	fn Observer
}

// SetObserver installs o (nil removes it) in the store's single "set" slot,
// replacing what an earlier SetObserver installed. The set observer is told
// first, before those of AddObserver. Safe to call at any time.
func (s *Store) SetObserver(o Observer) {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	if o == nil {
		s.obs.set = nil
	} else {
		s.obs.set = &observerEntry{fn: o}
	}
	s.publishObserversLocked()
}

// AddObserver installs o beside the other observers: every observer is told of
// every applied entry, in the order they were added, under the same rules as
// SetObserver's. The returned func removes o (idempotent).
func (s *Store) AddObserver(o Observer) (remove func()) {
	if o == nil {
		return func() {}
	}
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	s.obs.nextID++
	id := s.obs.nextID
	s.obs.list = append(s.obs.list, &observerEntry{id: id, fn: o})
	s.publishObserversLocked()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.obs.mu.Lock()
			defer s.obs.mu.Unlock()
			kept := make([]*observerEntry, 0, len(s.obs.list))
			for _, e := range s.obs.list {
				if e.id != id {
					kept = append(kept, e)
				}
			}
			s.obs.list = kept
			s.publishObserversLocked()
		})
	}
}

// publishObserversLocked publishes the set observer followed by the added
// ones as a fresh slice for Apply to load. Caller holds s.obs.mu.
func (s *Store) publishObserversLocked() {
	all := make([]Observer, 0, len(s.obs.list)+1)
	if s.obs.set != nil {
		all = append(all, s.obs.set.fn)
	}
	for _, e := range s.obs.list {
		all = append(all, e.fn)
	}
	if len(all) == 0 {
		s.observer.Store(nil)
		return
	}
	s.observer.Store(&all)
}

// notifyObservers tells every installed observer about an applied entry.
func (s *Store) notifyObservers(index uint64, batches [][]Op, results [][]Result) {
	if p := s.observer.Load(); p != nil {
		for _, o := range *p {
			o(index, batches, results)
		}
	}
}
