package persist

import (
	"fmt"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Apply applies the batches of one raft entry with index `index` and records
// m/applied_index = index, atomically: one Badger transaction, split into several
// only when the entry exceeds Badger's transaction limits (then the applied index
// is written by the last one, and the others leave a progress record).
//
// Rules (DESIGN.md "Apply"):
//   - Idempotent: index <= AppliedIndex() writes nothing and returns
//     ErrAlreadyApplied (wrapped), which the raft layer treats as success.
//   - Deterministic: Apply reads no clock and no local state; the same store
//     content and the same batches produce the same content and results on every
//     replica. Timestamps travel inside the ops.
//   - Each batch (one command) is validated as a whole first; an invalid batch is
//     skipped and every one of its results carries Err (wrapping ErrInvalidOp).
//   - A guard (OpRequireRaw) that fails skips the rest of its batch: those
//     results carry Err wrapping ErrConflict and nothing of the batch is
//     written; the entry's other batches apply.
//   - A returned error other than ErrAlreadyApplied (I/O, ErrDiskFull, ErrClosed,
//     a corrupt stored record) means the entry is not applied: retry Apply with the
//     same index and batches. If part of a split entry was committed, the retry
//     resumes after the last committed op (those ops report Result.Resumed), and
//     Apply with any other index fails with ErrPartialApply until it does.
//
// Apply calls are serialised; Apply must not be called concurrently with Restore
// from the raft layer's point of view (they are serialised here too).
func (s *Store) Apply(index uint64, batches [][]Op) ([][]Result, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	g, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer g.release()
	if applied := s.applied.Load(); index <= applied {
		return nil, fmt.Errorf("%w: index %d, applied %d", ErrAlreadyApplied, index, applied)
	}
	var start applyProgress
	resuming := s.progress != nil
	if resuming {
		if s.progress.index != index {
			return nil, fmt.Errorf("%w: index %d was partly applied (up to batch %d op %d); apply it before %d",
				ErrPartialApply, s.progress.index, s.progress.batch, s.progress.op, index)
		}
		start = *s.progress
	}
	if err := s.checkSpaceBelow(g, s.applyReserve()); err != nil {
		return nil, err
	}

	w := newTxnWriter(g.db, s.valueThreshold(), index)
	w.qheadBase = g.qhead
	w.counterBase = g.counters
	if s.testTxnLimit > 0 {
		w.maxCount = min(w.maxCount, s.testTxnLimit)
	}
	w.afterSplit = s.testAfterSplit
	results := make([][]Result, len(batches))
	for bi, batch := range batches {
		res := make([]Result, len(batch))
		results[bi] = res
		if resuming && bi < start.batch {
			markResumed(res)
			continue
		}
		vals, verr := prepareBatch(batch)
		if verr != nil {
			for i := range res {
				res[i].Err = verr
			}
			continue
		}
		var conflict error // the failed guard of this batch (DESIGN.md "Guards")
		for oi := range batch {
			if resuming && bi == start.batch && oi < start.op {
				res[oi].Resumed = true
				continue
			}
			if conflict != nil {
				res[oi].Err = fmt.Errorf("%w: skipped: %w", ErrConflict, conflict)
				continue
			}
			w.pos.batch, w.pos.op = bi, oi
			r, err := applyOp(w, &batch[oi], vals[oi])
			if err != nil {
				w.discard()
				s.noteProgress(w)
				return nil, fmt.Errorf("apply index %d batch %d op %d (%s): %w", index, bi, oi, batch[oi].Kind, mapWriteErr(err))
			}
			res[oi] = r
			if batch[oi].Kind == OpRequireRaw && r.Err != nil {
				conflict = fmt.Errorf("op %d: %w", oi, r.Err)
			}
		}
	}
	if err := w.finish(resuming); err != nil {
		w.discard()
		s.noteProgress(w)
		return nil, fmt.Errorf("commit index %d: %w", index, err)
	}
	s.applied.Store(index)
	s.progress = nil
	g.publishQueueHeads(w.qheads)
	g.publishCounters(w.counterStaged)
	if w.splits > 0 {
		s.log.Debug().Uint64(logfield.Index, index).Int(logfield.Entries, w.splits+1).Msg("entry applied in several transactions")
	}
	s.notifyObservers(index, batches, results)
	return results, nil
}

// noteProgress remembers the progress an intermediate commit left behind.
func (s *Store) noteProgress(w *txnWriter) {
	if w.committed != nil {
		p := *w.committed
		s.progress = &p
		s.log.Warn().Uint64(logfield.Index, p.index).Int(logfield.Batch, p.batch).Int(logfield.Op, p.op).
			Msg("entry partly applied; apply must be retried")
	}
}

func markResumed(res []Result) {
	for i := range res {
		res[i].Resumed = true
	}
}

// prepareBatch validates every op of a batch and encodes the values the ops
// store. The first failure rejects the whole batch.
func prepareBatch(batch []Op) ([][]byte, error) {
	vals := make([][]byte, len(batch))
	for i := range batch {
		op := &batch[i]
		if err := validateOp(op); err != nil {
			return nil, fmt.Errorf("op %d: %w", i, err)
		}
		v, err := encodeValue(op)
		if err != nil {
			return nil, fmt.Errorf("op %d: %w", i, err)
		}
		vals[i] = v
	}
	if err := checkGuardsFirst(batch); err != nil {
		return nil, err
	}
	if err := checkBodyRefs(batch); err != nil {
		return nil, err
	}
	return vals, nil
}

// encodeValue returns the stored value of a put op (nil for other kinds).
func encodeValue(op *Op) ([]byte, error) {
	switch op.Kind {
	case OpPutSession:
		return appendRecord(make([]byte, 0, 64), "session", op.Session.appendTo)
	case OpPutSubscription:
		return appendRecord(make([]byte, 0, 16+len(op.Subscription.Filter)), "subscription", op.Subscription.appendTo)
	case OpEnqueue, OpPutRetained, OpPutBody, OpPutRetainedOwned:
		if (op.Kind == OpPutRetained || op.Kind == OpPutRetainedOwned) && len(op.Message.Payload) == 0 {
			return nil, nil
		}
		return appendRecord(make([]byte, 0, op.Message.sizeHint()), "message", op.Message.appendTo)
	case OpPutInflight:
		return appendRecord(make([]byte, 0, 8+op.Inflight.Message.sizeHint()), "inflight", op.Inflight.appendTo)
	case OpEnqueueRef, OpStageRef:
		return op.Ref.appendTo(make([]byte, 0, 16+4*len(op.Ref.SubscriptionIDs))), nil
	case OpPutRaw:
		return op.Value, nil
	}
	return nil, nil
}
