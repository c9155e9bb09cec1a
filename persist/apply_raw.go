package persist

import (
	"encoding/binary"
	"fmt"
)

// readRawCounter reads an 8-byte big-endian value for OpAppendRaw / OpMaxRaw.
// Absent (or carrying a Badger TTL, see getLive) is 0; bad is set for a value of
// another length, which makes the op fail without writing.
func readRawCounter(w *txnWriter, key []byte) (n uint64, found bool, bad, err error) {
	if v, ok := w.cachedCounter(key); ok {
		return v, true, nil, nil
	}
	v, ok, err := w.getLive(key)
	if err != nil || !ok {
		return 0, false, nil, err
	}
	if len(v) != 8 {
		return 0, true, fmt.Errorf("%w: value of %q is %d bytes, not a counter", ErrInvalidOp, truncKey(key), len(v)), nil
	}
	n = binary.BigEndian.Uint64(v)
	w.stageCounter(key, counterState{v: n, ok: true}) // read from committed or this entry's state
	return n, true, nil, nil
}

// maxRaw stores max(existing, v) under key.
func maxRaw(w *txnWriter, key []byte, v uint64) (Result, error) {
	cur, ok, bad, err := readRawCounter(w, key)
	if err != nil {
		return Result{}, err
	}
	if bad != nil {
		return Result{Err: fmt.Errorf("max_raw: %w", bad)}, nil
	}
	if ok && cur >= v {
		return Result{Seq: cur, Found: true}, nil
	}
	return Result{Seq: v}, w.set(key, binary.BigEndian.AppendUint64(nil, v), 0)
}

// appendRaw applies an OpAppendRaw. Everything it reads is checked before the
// first write, so a failing op (Result.Err) writes nothing. The counter is written
// last: re-running the op after a split commit in its middle (DESIGN.md "Apply")
// sees the old counter, recomputes the same seq and rewrites the same keys; the
// dedup record it finds then holds seq = counter+1, which no completed append can
// have left, so it is not taken for a duplicate.
func appendRaw(w *txnWriter, op *Op) (Result, error) {
	last, _, bad, err := readRawCounter(w, op.Key)
	if err != nil {
		return Result{}, err
	}
	if bad != nil {
		return Result{Err: fmt.Errorf("append_raw: %w", bad)}, nil
	}
	if len(op.DedupKey) > 0 {
		v, ok, err := w.getLive(op.DedupKey)
		if err != nil {
			return Result{}, err
		}
		if ok {
			prev, _, perr := ParseDedupRecord(v)
			if perr != nil {
				return Result{Err: fmt.Errorf("append_raw: %w: dedup key %q: %w", ErrInvalidOp, truncKey(op.DedupKey), perr)}, nil
			}
			if prev <= last {
				return Result{Seq: prev, Found: true}, nil
			}
		}
	}
	raised := make([]bool, len(op.Raise))
	for i, k := range op.Raise {
		cur, ok, bad, err := readRawCounter(w, k)
		if err != nil {
			return Result{}, err
		}
		if bad != nil {
			return Result{Err: fmt.Errorf("append_raw: raise key %d: %w", i, bad)}, nil
		}
		raised[i] = !ok || cur < last+1
	}
	seq := last + 1
	if seq == 0 {
		return Result{Err: fmt.Errorf("%w: append_raw: counter %q overflows", ErrInvalidOp, truncKey(op.Key))}, nil
	}
	be := binary.BigEndian.AppendUint64(make([]byte, 0, DedupRecordSize), seq)
	entry := make([]byte, 0, len(op.Prefix)+8)
	entry = binary.BigEndian.AppendUint64(append(entry, op.Prefix...), seq)
	if err := w.set(entry, op.Value, 0); err != nil {
		return Result{}, err
	}
	if len(op.DedupKey) > 0 {
		rec := binary.BigEndian.AppendUint64(be, uint64(op.ExpiresAt))
		if err := w.set(op.DedupKey, rec, 0); err != nil {
			return Result{}, err
		}
	}
	for i, k := range op.Raise {
		if raised[i] {
			if err := w.set(k, be[:8], 0); err != nil {
				return Result{}, err
			}
		}
	}
	return Result{Seq: seq}, w.set(op.Key, be[:8], 0)
}
