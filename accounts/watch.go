package accounts

import (
	"bytes"
	"sync"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// Change is one applied change of a user record.
type Change struct {
	// Name is the user.
	Name string
	// Deleted is set when the record was removed.
	Deleted bool
	// State is the user's state after the change ("" when Deleted).
	State State
}

// Revoked reports whether the user may no longer be connected: deleted or
// disabled.
func (c Change) Revoked() bool { return c.Deleted || c.State == StateDisabled }

// Changes returns the user changes among the ops of one applied entry:
// put_raw and delete_raw of k/u/ keys whose result has no error (a batch
// whose guard failed wrote nothing). A put whose value does not decode is
// skipped.
func Changes(batches [][]persist.Op, results [][]persist.Result) []Change {
	var out []Change
	for bi, batch := range batches {
		for oi := range batch {
			op := &batch[oi]
			if !bytes.HasPrefix(op.Key, []byte(keyPrefix)) || len(op.Key) == len(keyPrefix) {
				continue
			}
			if bi < len(results) && oi < len(results[bi]) && results[bi][oi].Err != nil {
				continue
			}
			name := string(op.Key[len(keyPrefix):])
			switch op.Kind {
			case persist.OpDeleteRaw:
				out = append(out, Change{Name: name, Deleted: true})
			case persist.OpPutRaw:
				r, err := decodeRecord(op.Value)
				if err != nil {
					continue
				}
				out = append(out, Change{Name: name, State: r.State})
			}
		}
	}
	return out
}

// watcher hands the user changes of every applied entry to fn, in log
// order, on its own goroutine: the store's observer runs under the store's
// writer lock and must not wait for anything, while fn closes connections.
//
// Ownership: startWatcher installs the observer and starts run; stop removes
// the observer, wakes run and waits for it. The queue is unbounded, but it
// holds only user changes, which are admin actions.
type watcher struct {
	fn     func(Change)
	log    zerolog.Logger
	remove func()

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []Change
	stopped bool

	done chan struct{} // closed when run returns
}

func startWatcher(st *persist.Store, fn func(Change), log zerolog.Logger) *watcher {
	w := &watcher{fn: fn, log: log, done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.run()
	w.remove = st.AddObserver(w.observe)
	return w
}

// observe is the store observer: quick, never blocks on fn.
func (w *watcher) observe(_ uint64, batches [][]persist.Op, results [][]persist.Result) {
	cs := Changes(batches, results)
	if len(cs) == 0 {
		return
	}
	w.mu.Lock()
	if !w.stopped {
		w.queue = append(w.queue, cs...)
		w.cond.Signal()
	}
	w.mu.Unlock()
}

func (w *watcher) run() {
	defer close(w.done)
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !w.stopped {
			w.cond.Wait()
		}
		if w.stopped {
			w.mu.Unlock()
			return
		}
		batch := w.queue
		w.queue = nil
		w.mu.Unlock()
		for _, c := range batch {
			w.log.Debug().Str(logfield.User, c.Name).Bool(logfield.Deleted, c.Deleted).Str(logfield.State, string(c.State)).Msg("user changed")
			w.fn(c)
		}
	}
}

// stop removes the observer and waits for run to return. Idempotent through
// Service.Close's once.
func (w *watcher) stop() {
	w.remove()
	w.mu.Lock()
	w.stopped = true
	w.cond.Broadcast()
	w.mu.Unlock()
	<-w.done
}
