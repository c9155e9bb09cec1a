package im

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// componentName is the value of the component field (logfield.Component) on this package's log events.
const componentName = "im"

// Options are the Service's collaborators. Node, Store and Deliver are required.
type Options struct {
	// Node is the raft write path (*cluster.Node); every durable change goes
	// through it.
	Node Replicator
	// Store is the node's store, for reads (GetRaw, ScanRaw) and the disk-space
	// check before a write. The service does not close it.
	Store *persist.Store
	// NodeID goes into every message id; unique per node, 0..1023.
	NodeID uint16
	// NodeName names this node in the replicated presence records (its
	// cluster node id); "" means "local" (a single node).
	NodeName string
	// IsLeader says whether this node publishes presence (presence.go); nil
	// means always (a single node).
	IsLeader func() bool
	// Members lists the ids of the cluster's current members; presence
	// records of other ids (removed nodes) do not count. nil: all count.
	Members func() []string
	// Deliver publishes what the service sends.
	Deliver Deliverer
	// Filter checks message bodies; nil accepts everything.
	Filter TextFilter
	// Limiter rate-limits users; nil allows everything.
	Limiter RateLimiter
	// Push is told about messages for users with no online device; nil for none.
	Push Pusher
	// Media is the blob store of rpc upload and the media message types
	// (im/media.go); nil turns them off.
	Media MediaStore
	// Log is the parent logger; the service adds component=im.
	Log zerolog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// IsAdmin, if set, names further admins (rpc notify) beside
	// Config.Admins: the broker passes the user store's "admin" role.
	IsAdmin func(user string) bool
}

// Service is the IM core (doc.go). Its methods are safe for concurrent use.
type Service struct {
	cfg  Config
	opts Options
	log  zerolog.Logger
	now  func() time.Time
	ids  *idGen
	pres presence
	// indexed caches direct-conversation index entries known to exist.
	indexed indexedConvs
	// blk: the users who ever blocked anyone (blockers.go).
	blk blockers

	// maxPayload bounds an upstream payload before it is decoded: the body
	// limit with room for JSON escapes and the other fields.
	maxPayload int

	life   context.Context // cancelled by Close: writes in progress give up
	cancel context.CancelFunc
	done   chan struct{} // closed by Close: stops the sweeper

	mu     sync.RWMutex // guards closed against ops.Add
	closed bool
	ops    sync.WaitGroup // Handle, Connected, Disconnected in progress
	wg     sync.WaitGroup // the sweeper goroutine
	once   sync.Once
}

// New validates cfg and opts and returns a running Service. It starts one
// goroutine, the dedup sweeper (unless cfg.SweepInterval is 0), which Close
// stops.
func New(cfg Config, opts Options) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case opts.Node == nil:
		return nil, fmt.Errorf("%w: Node is required", ErrInvalidOptions)
	case opts.Store == nil:
		return nil, fmt.Errorf("%w: Store is required", ErrInvalidOptions)
	case opts.Deliver == nil:
		return nil, fmt.Errorf("%w: Deliver is required", ErrInvalidOptions)
	case opts.NodeID > maxNodeID:
		return nil, fmt.Errorf("%w: NodeID %d above %d", ErrInvalidOptions, opts.NodeID, maxNodeID)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	life, cancel := context.WithCancel(context.Background())
	s := &Service{
		cfg:        cfg,
		opts:       opts,
		log:        opts.Log.With().Str(logfield.Component, componentName).Logger(),
		now:        opts.Now,
		ids:        newIDGen(opts.NodeID),
		pres:       presence{devices: make(map[string]map[string]struct{}), published: map[string]string{}, wake: make(chan struct{}, 1)},
		maxPayload: 6*cfg.MaxBodyBytes + 4096,
		life:       life,
		cancel:     cancel,
		done:       make(chan struct{}),
	}
	s.cfg.Admins = append([]string(nil), cfg.Admins...)
	if s.opts.NodeName == "" {
		s.opts.NodeName = "local"
	}
	if cfg.SweepInterval > 0 {
		s.wg.Add(1)
		go s.sweepLoop()
	}
	if err := s.loadBlockers(); err != nil {
		if s.blk.unwatch != nil {
			s.blk.unwatch()
		}
		cancel()
		return nil, fmt.Errorf("%w: read the blocker markers: %w", ErrStorage, err)
	}
	if err := s.clearOwnPresence(); err != nil {
		s.log.Warn().Err(err).Msg("presence records of the last run not cleared")
	}
	s.wg.Add(1)
	go s.presenceLoop()
	return s, nil
}

// Close stops the service: calls in progress give up their writes (their
// clients get 0x80), later calls are refused with ErrClosed, the sweeper stops.
// Close waits for all of them. Idempotent. It closes neither the Node nor the
// Store: close the service first.
func (s *Service) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		close(s.done)
		s.wg.Wait()
		s.ops.Wait()
		if s.blk.unwatch != nil {
			s.blk.unwatch()
		}
	})
	return nil
}

// begin registers a call; false after Close.
func (s *Service) begin() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	s.ops.Add(1)
	return true
}

func (s *Service) end() { s.ops.Done() }

// nowMs is the service clock in unix ms.
func (s *Service) nowMs() int64 { return s.now().UnixMilli() }
