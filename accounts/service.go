package accounts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// Replicator is the replicated write path (cluster.Node.Apply, or the
// broker's forwarding writer from a follower): Apply proposes cmd (encoded
// persist ops) and returns, after commit, what the store's Apply returned
// for it ([]persist.Result, or an error).
type Replicator interface {
	Apply(ctx context.Context, cmd []byte) (any, error)
}

// Options are the collaborators of a Service.
type Options struct {
	// Node is the replicated write path. Required.
	Node Replicator
	// Store is the node's store: reads, and the apply observer. Required.
	Store *persist.Store
	// Log is the parent logger; the service adds component=accounts.
	Log zerolog.Logger
	// Now is the clock of created/updated times (nil: time.Now).
	Now func() time.Time
	// OnChange, if set, is told about every user disabled or deleted
	// (and every other change, see Change) applied on this node, whoever
	// proposed it, in log order, on a goroutine the service owns: it may
	// block briefly (the broker disconnects the user's local devices).
	OnChange func(Change)
}

// Service is the replicated user store of one node. Create it with New and
// Close it before the node and the store. Safe for concurrent use.
type Service struct {
	cfg  Config
	opts Options
	log  zerolog.Logger

	life   context.Context // cancelled by Close
	cancel context.CancelFunc

	watch     *watcher // nil without Options.OnChange
	closeOnce sync.Once
}

const component = "accounts"

// New validates cfg and opts and returns a ready service. With
// Options.OnChange it starts the change watcher (one goroutine, stopped by
// Close). Errors wrap ErrInvalidConfig or ErrMissingOption.
func New(cfg Config, opts Options) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case opts.Node == nil:
		return nil, fmt.Errorf("accounts: Options.Node: %w", ErrMissingOption)
	case opts.Store == nil:
		return nil, fmt.Errorf("accounts: Options.Store: %w", ErrMissingOption)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{cfg: cfg, opts: opts, log: opts.Log.With().Str(logfield.Component, component).Logger()}
	s.life, s.cancel = context.WithCancel(context.Background())
	if opts.OnChange != nil {
		s.watch = startWatcher(opts.Store, opts.OnChange, s.log)
	}
	return s, nil
}

// Close stops the watcher (a change it has not handed to OnChange yet is
// dropped) and fails calls waiting for a commit with ErrClosed. Idempotent.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		if s.watch != nil {
			s.watch.stop()
		}
	})
	return nil
}

// maxGuardAttempts bounds how often one change re-reads and re-decides after
// its guard failed (another change of the same user applied first).
const maxGuardAttempts = 5

// guardBackoff is the pause before the n-th retry (n * guardBackoff).
const guardBackoff = 2 * time.Millisecond

// change reads name's record, lets decide build the ops from it (nil old:
// absent), and proposes them behind a guard that the record is still what
// was read. It retries a lost guard up to maxGuardAttempts times.
func (s *Service) change(ctx context.Context, name string, decide func(old []byte) ([]persist.Op, error)) error {
	key := userKey(name)
	for attempt := 1; ; attempt++ {
		old, err := s.opts.Store.GetRaw(key)
		guard := persist.RequireRawOp(key, old)
		switch {
		case errors.Is(err, persist.ErrNotFound):
			old, guard = nil, persist.RequireRawAbsentOp(key)
		case err != nil:
			return fmt.Errorf("%w: read user: %w", ErrStorage, err)
		}
		ops, err := decide(old)
		if err != nil {
			return err
		}
		err = s.apply(ctx, append([]persist.Op{guard}, ops...))
		if !errors.Is(err, persist.ErrConflict) {
			return err
		}
		if attempt == maxGuardAttempts {
			return fmt.Errorf("%w: %d attempts; retry", ErrConflict, attempt)
		}
		t := time.NewTimer(time.Duration(attempt) * guardBackoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", ErrStorage, ctx.Err())
		case <-s.life.Done():
			t.Stop()
			return ErrClosed
		}
	}
}

// apply proposes ops as one command. Errors wrap ErrStorage (and
// persist.ErrConflict for a lost guard: nothing was written).
func (s *Service) apply(ctx context.Context, ops []persist.Op) error {
	if s.life.Err() != nil {
		return ErrClosed
	}
	cmd, err := persist.EncodeOps(ops)
	if err != nil {
		return fmt.Errorf("%w: encode: %w", ErrStorage, err)
	}
	if err := s.opts.Store.CheckSpace(); err != nil {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	stop := context.AfterFunc(s.life, cancel)
	defer stop()
	res, err := s.opts.Node.Apply(ctx, cmd)
	if err != nil {
		return fmt.Errorf("%w: apply: %w", ErrStorage, err)
	}
	if _, err := persist.CommandResults(res, ops); err != nil {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return nil
}
