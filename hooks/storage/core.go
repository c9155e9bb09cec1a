package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/persist"
)

// core is the durable write path shared by the mochi hook (Hook) and the
// engine store (EngineStore), see doc.go "Engine store": apply with
// CheckSpace and the apply timeout (here), the fan-out (fanout.go), the
// retained quota (retained.go) and the per-session queue bound (bound.go).
// It owns no goroutine; its owner runs the sweep of stale stagings.
type core struct {
	node            Applier
	store           *persist.Store
	timeout         time.Duration
	maxCommandBytes int
	retained        RetainedConfig
	limits          LimitObserver
	log             zerolog.Logger
	now             func() time.Time
	// life is cancelled when the owner stops: a write in progress gives up.
	life     context.Context
	quotaLog logLimiter // rate limit of the retained quota warnings
	bound    *queueBound
}

// coreOptions are what newCore needs of its owner.
type coreOptions struct {
	cfg             Config
	node            Applier
	store           *persist.Store
	retained        RetainedConfig
	limits          LimitObserver
	maxCommandBytes int
	log             zerolog.Logger
	now             func() time.Time
	life            context.Context
}

func newCore(o coreOptions) *core {
	c := &core{
		node: o.node, store: o.store, timeout: o.cfg.ApplyTimeout,
		maxCommandBytes: o.maxCommandBytes, retained: o.retained, limits: o.limits,
		log: o.log, now: o.now, life: o.life,
	}
	c.bound = newQueueBound(o.cfg.QueueMaxMessages, o.cfg.QueueMaxBytes, o.store, o.limits, o.log, o.now)
	return c
}

// apply encodes ops, applies them through the node (after CheckSpace) within
// ctx, the apply timeout and the owner's life, and returns the results. An
// error wraps the persist error and, for a full disk or a retained quota
// refusal, ext.ErrDiskFull / ext.ErrQuotaExceeded too.
func (c *core) apply(ctx context.Context, ops []persist.Op) ([]persist.Result, error) {
	cmd, err := persist.EncodeOps(ops)
	if err != nil {
		return nil, fmt.Errorf("encode ops: %w", err)
	}
	// Refuse before proposing: a committed command must be applied, and applying
	// on a full disk stops the node (persist.CheckSpace). The publisher gets 0x97.
	if c.store != nil {
		if err := c.store.CheckSpace(); err != nil {
			return nil, fmt.Errorf("apply: %w", extErr(err))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if c.life != nil {
		defer context.AfterFunc(c.life, cancel)()
	}
	res, err := c.node.Apply(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", extErr(err))
	}
	if e, ok := res.(error); ok {
		return nil, fmt.Errorf("apply: %w", extErr(e))
	}
	rs, ok := res.([]persist.Result)
	if !ok || len(rs) != len(ops) {
		return nil, fmt.Errorf("%w: %T", ErrUnexpectedResult, res)
	}
	for i := range rs {
		if rs[i].Err != nil {
			return rs, fmt.Errorf("op %d: %w", i, extErr(rs[i].Err))
		}
	}
	return rs, nil
}

// extErr adds the ext sentinel of a persist error the engine answers with a
// reason code (ext.ErrDiskFull, ext.ErrQuotaExceeded); others are returned
// as they are.
func extErr(err error) error {
	switch {
	case errors.Is(err, persist.ErrDiskFull):
		return fmt.Errorf("%w: %w", ext.ErrDiskFull, err)
	case errors.Is(err, persist.ErrQuotaExceeded):
		return fmt.Errorf("%w: %w", ext.ErrQuotaExceeded, err)
	}
	return err
}

// isQuota reports a refusal by the retained quota.
func isQuota(err error) bool { return errors.Is(err, persist.ErrQuotaExceeded) }

// component is the value of the component field (logfield.Component) on this package's log events.
const component = "storage"

// Applier is the replicated write path (cluster.Node satisfies it). Apply
// blocks until cmd is committed and applied and returns the state machine's
// result for it ([]persist.Result, or an error value).
type Applier interface {
	Apply(ctx context.Context, cmd []byte) (any, error)
}
