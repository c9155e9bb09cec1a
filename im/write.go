package im

import (
	"context"
	"errors"
	"fmt"

	"github.com/imqtt/imqtt/persist"
)

// apply proposes ops as one command (one raft entry batch, applied atomically)
// and returns their results. The disk is checked first (a committed command
// must be applied, and applying on a full disk stops the node). Errors wrap
// ErrStorageFull or ErrStorage; after ErrStorage the command may still commit.
func (s *Service) apply(ctx context.Context, ops []persist.Op) ([]persist.Result, error) {
	cmd, err := persist.EncodeOps(ops)
	if err != nil {
		return nil, fmt.Errorf("%w: encode: %w", ErrStorage, err)
	}
	if err := s.opts.Store.CheckSpace(); err != nil {
		if errors.Is(err, persist.ErrDiskFull) {
			return nil, fmt.Errorf("%w: %w", ErrStorageFull, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	stop := context.AfterFunc(s.life, cancel)
	defer stop()
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
