package persist

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// txnWriter runs one Apply on Badger transactions. It starts with one transaction
// and splits (commits, starts the next) only when the next write would not fit in
// Badger's per-transaction limits; every intermediate commit also writes
// m/apply_progress so that a failed Apply can be resumed (DESIGN.md "Apply").
type txnWriter struct {
	db        *badger.DB
	txn       *badger.Txn
	count     int64
	size      int64
	maxCount  int64
	maxSize   int64
	threshold int64
	pos       applyProgress // the op being applied

	qheadBase map[string]uint64 // the generation's dequeue hints (read only)
	qheads    map[string]uint64 // hints staged by this entry (queuehead.go)

	counterBase   map[string]uint64       // the generation's counter cache (read only)
	counterStaged map[string]counterState // cache states staged by this entry (countercache.go)
	committed     *applyProgress          // progress of the last intermediate commit
	splits        int
	// afterSplit, if set, runs after each intermediate commit (tests).
	afterSplit func(splits int) error
}

// Room kept free in every transaction for the progress / applied-index records.
const (
	reserveEntries = 4
	reserveBytes   = 1 << 10
	// rangeChunk is how many keys a range delete collects per iterator.
	rangeChunk = 2048
)

func newTxnWriter(db *badger.DB, threshold int64, index uint64) *txnWriter {
	return &txnWriter{
		db:        db,
		txn:       db.NewTransaction(true),
		maxCount:  db.MaxBatchCount(),
		maxSize:   db.MaxBatchSize(),
		threshold: threshold,
		pos:       applyProgress{index: index},
	}
}

// estimate mirrors Badger's Txn.checkSize: values at or above the value threshold
// count as a 12-byte pointer; 2 meta bytes and 10 version bytes per entry.
func (w *txnWriter) estimate(k, v int) int64 {
	if int64(v) >= w.threshold {
		v = 12
	}
	return int64(k+v) + 12
}

func (w *txnWriter) reserve(k, v int) error {
	est := w.estimate(k, v)
	if w.count+1+reserveEntries >= w.maxCount || w.size+est+reserveBytes >= w.maxSize {
		if w.count == 0 {
			return fmt.Errorf("persist: entry of %d+%d bytes exceeds one transaction", k, v)
		}
		if err := w.split(); err != nil {
			return err
		}
	}
	w.count++
	w.size += est
	return nil
}

func (w *txnWriter) set(key, val []byte, expiresAt uint64) error {
	if err := w.reserve(len(key), len(val)); err != nil {
		return err
	}
	e := badger.NewEntry(key, val)
	e.ExpiresAt = expiresAt
	if err := w.txn.SetEntry(e); err != nil {
		return err
	}
	w.noteWrite(key, val, expiresAt)
	return nil
}

func (w *txnWriter) del(key []byte) error {
	if err := w.reserve(len(key), 0); err != nil {
		return err
	}
	if err := w.txn.Delete(key); err != nil {
		return err
	}
	w.noteWrite(key, nil, 0)
	return nil
}

// split commits the current transaction with a progress record pointing at the
// current op (every op before it is complete) and starts the next one.
func (w *txnWriter) split() error {
	p := w.pos
	if err := w.txn.Set(keyApplyProgress, p.encode()); err != nil {
		return err
	}
	if err := w.txn.Commit(); err != nil {
		w.txn = w.db.NewTransaction(true)
		return mapWriteErr(err)
	}
	w.committed = &p
	w.splits++
	w.txn = w.db.NewTransaction(true)
	w.count, w.size = 0, 0
	if w.afterSplit != nil {
		return w.afterSplit(w.splits)
	}
	return nil
}

// finish writes the applied index, clears any progress record and commits.
func (w *txnWriter) finish(clearProgress bool) error {
	if err := w.txn.Set(keyAppliedIndex, binary.BigEndian.AppendUint64(nil, w.pos.index)); err != nil {
		return err
	}
	if clearProgress || w.committed != nil {
		if err := w.txn.Delete(keyApplyProgress); err != nil {
			return err
		}
	}
	return mapWriteErr(w.txn.Commit())
}

func (w *txnWriter) discard() { w.txn.Discard() }

// get reads key (pending writes included); ok is false if absent or expired.
func (w *txnWriter) get(key []byte) ([]byte, bool, error) {
	return getCopy(w.txn, key)
}

// getLive is get for reads that decide what Apply writes: a key carrying a TTL
// counts as absent, because whether Badger still shows it depends on each
// replica's clock (DESIGN.md "TTL policy").
func (w *txnWriter) getLive(key []byte) ([]byte, bool, error) {
	item, err := w.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if item.ExpiresAt() != 0 {
		return nil, false, nil
	}
	v, err := item.ValueCopy(nil)
	return v, err == nil, err
}

func (w *txnWriter) exists(key []byte) (bool, error) {
	_, err := w.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// deleteRange deletes every key with prefix that is <= upto (nil: no bound) and
// returns how many it deleted. It collects keys in chunks and closes each
// iterator before deleting, so a split may happen between chunks.
func (w *txnWriter) deleteRange(prefix, upto []byte) (int, error) {
	return w.deleteRangeFrom(prefix, nil, upto)
}

// deleteRangeFrom is deleteRange starting at from (nil: the prefix).
func (w *txnWriter) deleteRangeFrom(prefix, from, upto []byte) (int, error) {
	total := 0
	seek := prefix
	if from != nil {
		seek = from
	}
	for {
		keys := make([][]byte, 0, 64)
		done := true
		it := w.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().KeyCopy(nil)
			if upto != nil && bytes.Compare(k, upto) > 0 {
				break
			}
			if len(keys) == rangeChunk {
				done = false
				break
			}
			keys = append(keys, k)
		}
		it.Close()
		for _, k := range keys {
			if err := w.del(k); err != nil {
				return total, err
			}
		}
		total += len(keys)
		if done {
			return total, nil
		}
		seek = append(append([]byte{}, keys[len(keys)-1]...), 0)
	}
}
