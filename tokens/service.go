package tokens

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

const component = "tokens"

// Replicator proposes a command through the raft write path
// (*cluster.Node, or the broker's leader-forwarding writer). Apply blocks
// until cmd (persist.EncodeOps bytes) is committed and applied on this node
// and returns the state machine's result ([]persist.Result or an error
// value). Safe for concurrent use.
type Replicator interface {
	Apply(ctx context.Context, cmd []byte) (any, error)
}

// Store is what the package reads of the node's store (*persist.Store).
type Store interface {
	GetRaw(key []byte) ([]byte, error)
	ScanRaw(prefix []byte, opts persist.ScanOptions, fn func(key, value []byte) error) error
}

// Options are the collaborators of a Service.
type Options struct {
	Node  Replicator // required
	Store Store      // required
	Log   zerolog.Logger
	// ValidateUser checks a user name's syntax (the broker passes
	// auth.ValidateUsername); nil: 1..256 bytes of UTF-8 without control
	// characters.
	ValidateUser func(user string) error
	// CheckUser, if set, is asked before a mint: an error refuses it (the
	// user store's "unknown or disabled"). nil mints for any valid name.
	CheckUser func(user string) error
	// OnRevoke is told, on the notifier goroutine, of every token id
	// revoked on any node (nil: nobody). It may block briefly.
	OnRevoke func(ids []string)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// ApplyTimeout bounds each write (default 10 s).
	ApplyTimeout time.Duration
}

// Service mints, verifies and revokes tokens. See the package doc.
type Service struct {
	cfg  Config
	opts Options
	log  zerolog.Logger

	key   secret // set by Open, never changed
	kid   string // kidPrefix + hex(SHA-256(key)[:8])
	ready chan struct{}

	mu      sync.Mutex
	pending []string      // revoked ids for the notifier; mu
	wake    chan struct{} // cap 1: pending grew
	done    chan struct{} // closed by Close
	wg      sync.WaitGroup
	opened  bool // mu
	closed  bool // mu
}

// New checks cfg and opts; Open makes the service usable.
func New(cfg Config, opts Options) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Node == nil || opts.Store == nil {
		return nil, fmt.Errorf("%w: Options.Node and Options.Store are required", ErrInvalidConfig)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ApplyTimeout <= 0 {
		opts.ApplyTimeout = 10 * time.Second
	}
	return &Service{
		cfg: cfg, opts: opts,
		log:   opts.Log.With().Str(logfield.Component, component).Logger(),
		ready: make(chan struct{}),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}, nil
}

// Open loads the signing key (the key file, or the replicated key, which it
// creates through raft if the cluster has none yet) and starts the
// notifier. ctx bounds the raft write. Errors wrap ErrInvalidKey or
// ErrStorage.
func (s *Service) Open(ctx context.Context) error {
	s.mu.Lock()
	if s.opened || s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.mu.Unlock()
	key, src, err := s.loadKey(ctx)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(key)
	s.key = secret{b: key}
	s.kid = kidPrefix + hex.EncodeToString(sum[:keyIDBytes])
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.opened = true
	close(s.ready)
	s.wg.Add(1)
	go s.notifier()
	s.log.Info().Str(logfield.Source, src).Str(logfield.KeyID, s.kid).Msg("token signing key loaded")
	return nil
}

// loadKey returns the key and where it came from ("file" or "cluster").
func (s *Service) loadKey(ctx context.Context) ([]byte, string, error) {
	if s.cfg.KeyFile != "" {
		b, err := os.ReadFile(s.cfg.KeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("%w: read tokens.key_file %q: %w", ErrInvalidKey, s.cfg.KeyFile, err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) < MinKeyLen {
			return nil, "", fmt.Errorf("%w: tokens.key_file %q: %d bytes, need at least %d", ErrInvalidKey, s.cfg.KeyFile, len(b), MinKeyLen)
		}
		return b, "file", nil
	}
	b, err := s.opts.Store.GetRaw([]byte(keySigning))
	if errors.Is(err, persist.ErrNotFound) {
		// The first node to propose wins; the others' proposals find it.
		fresh := make([]byte, MinKeyLen)
		_, _ = rand.Read(fresh)
		if _, err := s.apply(ctx, []persist.Op{persist.PutRawIfAbsentOp([]byte(keySigning), fresh, 0)}); err != nil {
			return nil, "", fmt.Errorf("create signing key: %w", err)
		}
		b, err = s.opts.Store.GetRaw([]byte(keySigning))
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w: read signing key: %w", ErrStorage, err)
	}
	if len(b) < MinKeyLen {
		return nil, "", fmt.Errorf("%w: replicated key of %d bytes", ErrInvalidKey, len(b))
	}
	return b, "cluster", nil
}

// Close stops the notifier; idempotent, safe after a failed Open.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// usable reports ErrClosed unless Open succeeded and Close was not called.
func (s *Service) usable() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opened || s.closed {
		return ErrClosed
	}
	return nil
}

// apply proposes ops as one command and returns their results.
func (s *Service) apply(ctx context.Context, ops []persist.Op) ([]persist.Result, error) {
	cmd, err := persist.EncodeOps(ops)
	if err != nil {
		return nil, fmt.Errorf("%w: encode: %w", ErrStorage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.ApplyTimeout)
	defer cancel()
	res, err := s.opts.Node.Apply(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("%w: apply: %w", ErrStorage, err)
	}
	rs, err := persist.CommandResults(res, ops)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return rs, nil
}
