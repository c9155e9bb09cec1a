package persist

import (
	"bytes"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// The raw API gives the IM package (and any later user) key-value storage in the
// reserved prefixes (IsRawKey, DESIGN.md "Key schema"). Writes go through Apply
// (OpPutRaw, OpDeleteRaw, OpIncrRaw) like everything durable; reads are direct.
// Keys are compared bytewise: encode numbers big-endian to scan them in order.

// GetRaw returns a copy of the value of a raw key, or ErrNotFound (also for a key
// whose Badger TTL has passed).
func (s *Store) GetRaw(key []byte) ([]byte, error) {
	if !IsRawKey(key) {
		return nil, fmt.Errorf("%w: get_raw: key %q outside the raw prefixes", ErrInvalidOp, truncKey(key))
	}
	var out []byte
	err := s.view(func(txn *badger.Txn) error {
		v, ok, err := getCopy(txn, key)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("raw %q: %w", truncKey(key), ErrNotFound)
		}
		out = v
		return nil
	})
	return out, err
}

// ScanOptions bound a ScanRaw.
type ScanOptions struct {
	// Start is where the scan begins: the first key >= Start (forward) or the
	// last key <= Start (reverse). Nil: the beginning (or end) of the prefix.
	Start []byte
	// Reverse scans in descending key order.
	Reverse bool
	// Limit stops after this many keys; <= 0 means no limit.
	Limit int
}

// ErrStopScan may be returned by a ScanRaw callback to end the scan early;
// ScanRaw then returns nil.
var ErrStopScan = errors.New("persist: stop scan")

// ScanRaw calls fn with copies of every key and value under a raw prefix
// (IsRawPrefix), in key order (or reverse), within opts.
func (s *Store) ScanRaw(prefix []byte, opts ScanOptions, fn func(key, value []byte) error) error {
	if !IsRawPrefix(prefix) {
		return fmt.Errorf("%w: scan_raw: prefix %q outside the raw prefixes", ErrInvalidOp, truncKey(prefix))
	}
	err := s.view(func(txn *badger.Txn) error {
		iopt := badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Reverse: opts.Reverse}
		start := opts.Start
		if opts.Reverse {
			// Badger's reverse Seek lands on the last key <= start, and with the
			// Prefix option it stops at the first key outside it; so no Prefix
			// option here, and keys above the prefix range are stepped over.
			if start == nil {
				start = prefixEnd(prefix) // never nil: prefix[0] is a letter
			}
		} else {
			iopt.Prefix = prefix
			if bytes.Compare(start, prefix) < 0 {
				start = prefix
			}
		}
		it := txn.NewIterator(iopt)
		defer it.Close()
		n := 0
		for it.Seek(start); it.Valid(); it.Next() {
			item := it.Item()
			if !bytes.HasPrefix(item.Key(), prefix) {
				if opts.Reverse && bytes.Compare(item.Key(), prefix) > 0 {
					continue
				}
				return nil
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if err := fn(item.KeyCopy(nil), v); err != nil {
				return err
			}
			n++
			if opts.Limit > 0 && n >= opts.Limit {
				return nil
			}
		}
		return nil
	})
	if errors.Is(err, ErrStopScan) {
		return nil
	}
	return err
}
