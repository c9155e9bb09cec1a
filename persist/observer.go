package persist

// Observer is told about every entry Apply committed, on every node, in log
// order, after the effects are visible to readers: index, the op batches and
// their results. It runs on the applying goroutine (raft's FSM goroutine)
// with the store's writer lock held: it must be quick, must not call Apply or
// wait for anything that does, and must not keep or modify the slices. It is
// how a node learns about state changes another node made (hooks/storage
// keeps mochi's session, subscription and retained indexes in step with it).
//
// A Restore replaces the state without calling the observer.
type Observer func(index uint64, batches [][]Op, results [][]Result)

// SetObserver installs o (nil removes it). Safe to call at any time.
func (s *Store) SetObserver(o Observer) {
	if o == nil {
		s.observer.Store(nil)
		return
	}
	s.observer.Store(&o)
}
