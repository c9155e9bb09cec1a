package storage

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// EngineOptions are the engine store's collaborators. Node and Store are
// required.
type EngineOptions struct {
	// Node is the replicated write path (cluster.Node).
	Node Applier
	// Store is this node's replica, for reads.
	Store *persist.Store
	Log   zerolog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// IsLeader reports whether this node runs the sweep of stale stagings;
	// nil means always (single node).
	IsLeader func() bool
	// Retained bounds each user's retained messages; the zero value bounds
	// nothing.
	Retained RetainedConfig
	// Limits counts refusals by a bound (nil: not counted).
	Limits LimitObserver
	// MaxCommandBytes is the node's largest command (cluster.batch_max_bytes;
	// 0: its default).
	MaxCommandBytes int
	// NodeID is this node's id, written in every session record it puts
	// (ext.Session.Node): Observe reports only other nodes' records.
	NodeID string
}

// EngineStore is the native engine's durable session store (ext.Store) over
// persist (reads) and the Applier (writes), see doc.go "Engine store". It
// holds no mochi type. Create it with NewEngineStore, Start its sweep, Close
// it after the engine and before the node.
type EngineStore struct {
	cfg  Config
	opts EngineOptions
	log  zerolog.Logger
	now  func() time.Time
	core *core
	ev   events // the watcher and own writes in flight (engine_events.go)

	life      context.Context // cancelled by Close
	kill      context.CancelFunc
	done      chan struct{}
	closed    atomic.Bool
	startOnce sync.Once
	closeOnce sync.Once
	wg        sync.WaitGroup
}

var _ ext.Store = (*EngineStore)(nil)

// NewEngineStore checks cfg (MaxInflight is not used: the engine has its own
// window) and opts; it starts nothing (Start does).
func NewEngineStore(cfg Config, opts EngineOptions) (*EngineStore, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := opts.Retained.Validate(); err != nil {
		return nil, err
	}
	switch {
	case opts.Node == nil:
		return nil, fmt.Errorf("%w: engine store options: no applier", ErrInvalidConfig)
	case opts.Store == nil:
		return nil, fmt.Errorf("%w: engine store options: no store", ErrInvalidConfig)
	}
	e := &EngineStore{
		cfg: cfg, opts: opts, now: opts.Now, done: make(chan struct{}),
		log: opts.Log.With().Str(logfield.Component, component).Logger(),
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.life, e.kill = context.WithCancel(context.Background())
	e.core = newCore(coreOptions{
		cfg: cfg, node: opts.Node, store: opts.Store, retained: opts.Retained, limits: opts.Limits,
		maxCommandBytes: opts.MaxCommandBytes, log: e.log, now: e.now, life: e.life,
	})
	return e, nil
}

// Start starts the leader's sweep of stale fan-out stagings (every
// SweepInterval, on the leader only: persist.Store.StaleStaged, then
// persist.DropStagedOp). Session expiry is the engine's sweeper's
// (DeleteSession). Idempotent; after Close it starts nothing.
func (e *EngineStore) Start() {
	e.startOnce.Do(func() {
		if e.closed.Load() {
			return
		}
		e.wg.Add(1)
		go e.sweepLoop()
	})
}

// Close stops the sweep, makes every later write fail with ErrClosed and
// cancels the writes in progress, and waits for the sweep. Idempotent. It
// closes neither the node nor the store.
func (e *EngineStore) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		e.startOnce.Do(func() {}) // a Start after Close starts nothing
		close(e.done)
		e.kill()
	})
	e.wg.Wait()
	return nil
}

func (e *EngineStore) sweepLoop() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-e.done:
			return
		case <-t.C:
			if e.opts.IsLeader == nil || e.opts.IsLeader() {
				e.core.sweepStaged()
			}
		}
	}
}

// apply is a write of the engine: ErrClosed after Close.
func (e *EngineStore) apply(ctx context.Context, ops []persist.Op) ([]persist.Result, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	return e.core.apply(ctx, ops)
}
