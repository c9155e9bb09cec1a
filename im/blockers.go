package im

import (
	"bytes"
	"strings"
	"sync"

	"github.com/imqtt/imqtt/persist"
)

// The blockers index: which users have ever blocked anyone. A direct send
// and a presence or typing check ask whether either party blocked the
// other, which is two point reads of keys that are almost always absent; on
// the chat flood they were 8 % of the broker's CPU (docs/BENCHMARKS.md,
// issue 18's "features present but unused"). rpc block also writes the
// marker l/{user} (never deleted: unblocking every user leaves it, and the
// exact check then reads the store as before), so when neither party is a
// blocker the check reads nothing.
//
// Every node learns of markers written anywhere from the store's apply
// observer (persist.Store.AddObserver, in log order, on every node), and of
// the markers already stored from a scan of l/ at start; the observer is
// installed before the scan, so none is missed. A marker is added when its
// op is applied, even if its command then failed a guard: a spurious entry
// only costs the exact check.

// pfxBlocker is the prefix of the blocker markers: l/{user}.
const pfxBlocker = "l/"

func blockerKey(user string) []byte { return []byte(pfxBlocker + user) }

// blockers is the set of users with a marker.
type blockers struct {
	mu      sync.RWMutex
	set     map[string]struct{}
	unwatch func()
}

// add records user as a blocker.
func (b *blockers) add(user string) {
	b.mu.Lock()
	if b.set == nil {
		b.set = make(map[string]struct{})
	}
	b.set[user] = struct{}{}
	b.mu.Unlock()
}

// any reports whether a or b has ever blocked anyone.
func (b *blockers) any(a, c string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, x := b.set[a]
	_, y := b.set[c]
	return x || y
}

// observe is the apply observer: it adds the user of every applied put of a
// marker. It runs on raft's FSM goroutine with the store's writer lock held:
// it only takes b.mu.
func (b *blockers) observe(_ uint64, batches [][]persist.Op, _ [][]persist.Result) {
	for _, batch := range batches {
		for i := range batch {
			op := &batch[i]
			if op.Kind == persist.OpPutRaw && bytes.HasPrefix(op.Key, []byte(pfxBlocker)) {
				b.add(string(op.Key[len(pfxBlocker):]))
			}
		}
	}
}

// loadBlockers installs the observer, then reads the markers already stored.
func (s *Service) loadBlockers() error {
	s.blk.unwatch = s.opts.Store.AddObserver(s.blk.observe)
	return s.opts.Store.ScanRaw([]byte(pfxBlocker), persist.ScanOptions{}, func(key, _ []byte) error {
		s.blk.add(strings.TrimPrefix(string(key), pfxBlocker))
		return nil
	})
}
