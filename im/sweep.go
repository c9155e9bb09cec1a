package im

import (
	"context"
	"time"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// Dedup records (i/...) carry their expiry in their value, not as a Badger TTL
// (persist DESIGN.md "append_raw"): the sweeper deletes expired ones through
// raft, so every replica forgets the same cids at the same log position.

const (
	// sweepScanMax bounds the records one sweep pass reads.
	sweepScanMax = 10_000
	// sweepBatch is how many deletions go into one command.
	sweepBatch = 256
)

// sweepLoop runs sweepOnce every Config.SweepInterval until Close.
func (s *Service) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	var from []byte
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		n, next, err := s.sweepOnce(s.life, from)
		from = next
		if err != nil {
			s.log.Warn().Err(err).Int(logfield.Count, n).Msg("im dedup sweep failed")
			continue
		}
		if n > 0 {
			s.log.Debug().Int(logfield.Count, n).Msg("im dedup records swept")
		}
	}
}

// sweepOnce reads up to sweepScanMax dedup records from key `from` (nil: the
// start), deletes the expired ones and returns how many, and where the next pass
// starts (nil after the last record: wrap around).
func (s *Service) sweepOnce(ctx context.Context, from []byte) (int, []byte, error) {
	now := s.nowMs()
	var expired [][]byte
	var last []byte
	scanned := 0
	err := s.opts.Store.ScanRaw([]byte(pfxDedup), persist.ScanOptions{Start: from, Limit: sweepScanMax},
		func(k, v []byte) error {
			scanned++
			last = k
			if _, exp, err := persist.ParseDedupRecord(v); err == nil && exp != 0 && exp <= now {
				expired = append(expired, k)
			}
			return nil
		})
	if err != nil {
		return 0, from, err
	}
	var next []byte
	if scanned == sweepScanMax {
		next = append(last, 0) // the smallest key after last
	}
	deleted := 0
	for len(expired) > 0 {
		n := min(len(expired), sweepBatch)
		ops := make([]persist.Op, n)
		for i := range ops {
			ops[i] = persist.DeleteRawOp(expired[i])
		}
		if _, err := s.apply(ctx, ops); err != nil {
			return deleted, from, err
		}
		deleted += n
		expired = expired[n:]
	}
	return deleted, next, nil
}
