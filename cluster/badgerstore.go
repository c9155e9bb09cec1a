package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Key prefixes in the Badger log store.
const (
	prefixLog    byte = 'l' // 'l' + 8-byte big-endian index -> log record
	prefixStable byte = 's' // 's' + key -> value
)

// badgerGCInterval is how often the value log is garbage collected. Log records
// under 1 MiB live in the LSM tree; only larger ones reach the value log.
const badgerGCInterval = 5 * time.Minute

// BadgerStore is a raft.LogStore and raft.StableStore on Badger v4 with
// SyncWrites: StoreLogs returns after the records are fsync'd. It is safe for
// concurrent use. Open it with OpenBadgerStore; Close stops its value-log GC
// goroutine and closes the database.
type BadgerStore struct {
	db        *badger.DB
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

var (
	_ raft.LogStore    = (*BadgerStore)(nil)
	_ raft.StableStore = (*BadgerStore)(nil)
)

// OpenBadgerStore opens (or creates) the store in dir. Badger's own log lines go
// to log (its info lines at debug).
func OpenBadgerStore(dir string, log zerolog.Logger) (*BadgerStore, error) {
	opts := badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithLogger(badgerLogger{zl: log.With().Str(logfield.Subsystem, "badger").Logger()}).
		WithMetricsEnabled(false).
		WithCompression(options.None).
		WithMemTableSize(32 << 20).
		WithNumMemtables(3).
		WithBlockCacheSize(16 << 20).
		WithNumCompactors(2).
		WithDetectConflicts(false)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open badger log store %s: %w", dir, err)
	}
	s := &BadgerStore{db: db, stop: make(chan struct{})}
	s.wg.Add(1)
	go s.runGC()
	return s, nil
}

// runGC collects the value log until Close.
func (s *BadgerStore) runGC() {
	defer s.wg.Done()
	t := time.NewTicker(badgerGCInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			for s.db.RunValueLogGC(0.5) == nil {
				select {
				case <-s.stop:
					return
				default:
				}
			}
		}
	}
}

// Close stops the GC goroutine and closes the database. It is idempotent.
func (s *BadgerStore) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

func logKey(index uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixLog
	binary.BigEndian.PutUint64(k[1:], index)
	return k
}

func stableKey(key []byte) []byte {
	return append([]byte{prefixStable}, key...)
}

// FirstIndex implements raft.LogStore: the lowest stored index, 0 if empty.
func (s *BadgerStore) FirstIndex() (uint64, error) {
	return s.edgeIndex(false)
}

// LastIndex implements raft.LogStore: the highest stored index, 0 if empty.
func (s *BadgerStore) LastIndex() (uint64, error) {
	return s.edgeIndex(true)
}

func (s *BadgerStore) edgeIndex(last bool) (uint64, error) {
	var idx uint64
	err := s.db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.PrefetchValues = false
		o.Prefix = []byte{prefixLog}
		o.Reverse = last
		it := txn.NewIterator(o)
		defer it.Close()
		if last {
			it.Seek(logKey(^uint64(0)))
		} else {
			it.Rewind()
		}
		if it.Valid() {
			k := it.Item().Key()
			if len(k) != 9 {
				return fmt.Errorf("%w: log key of %d bytes", ErrLogCorrupt, len(k))
			}
			idx = binary.BigEndian.Uint64(k[1:])
		}
		return nil
	})
	return idx, err
}

// GetLog implements raft.LogStore; a missing index is raft.ErrLogNotFound.
func (s *BadgerStore) GetLog(index uint64, l *raft.Log) error {
	return s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(logKey(index))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return raft.ErrLogNotFound
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return decodeLogRecord(index, v, l) })
	})
}

// StoreLog implements raft.LogStore.
func (s *BadgerStore) StoreLog(l *raft.Log) error {
	return s.StoreLogs([]*raft.Log{l})
}

// StoreLogs implements raft.LogStore. The logs are written in one fsync'd
// transaction, or, past Badger's transaction size limit, in several in index
// order (a crash between them leaves a prefix, which raft handles).
func (s *BadgerStore) StoreLogs(logs []*raft.Log) error {
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	for _, l := range logs {
		val := appendLogRecord(make([]byte, 0, logRecordSize(l)), l)
		e := badger.NewEntry(logKey(l.Index), val)
		err := txn.SetEntry(e)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err := txn.Commit(); err != nil {
				return fmt.Errorf("store logs: %w", err)
			}
			txn = s.db.NewTransaction(true)
			err = txn.SetEntry(e)
		}
		if err != nil {
			return fmt.Errorf("store log %d: %w", l.Index, err)
		}
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("store logs: %w", err)
	}
	return nil
}

// DeleteRange implements raft.LogStore: it deletes indexes min..max inclusive.
// A range starting at the first index (compaction) is deleted upwards and any
// other (truncating a conflicting suffix) downwards, so a crash part-way leaves
// a log without holes.
func (s *BadgerStore) DeleteRange(min, max uint64) error {
	if min > max {
		return nil
	}
	first, err := s.FirstIndex()
	if err != nil {
		return err
	}
	var keys [][]byte
	err = s.db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.PrefetchValues = false
		o.Prefix = []byte{prefixLog}
		it := txn.NewIterator(o)
		defer it.Close()
		end := logKey(max)
		for it.Seek(logKey(min)); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			if string(k) > string(end) {
				break
			}
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete range %d-%d: %w", min, max, err)
	}
	if min > first {
		for i, j := 0, len(keys)-1; i < j; i, j = i+1, j-1 {
			keys[i], keys[j] = keys[j], keys[i]
		}
	}
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	for _, k := range keys {
		err := txn.Delete(k)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err := txn.Commit(); err != nil {
				return fmt.Errorf("delete range %d-%d: %w", min, max, err)
			}
			txn = s.db.NewTransaction(true)
			err = txn.Delete(k)
		}
		if err != nil {
			return fmt.Errorf("delete range %d-%d: %w", min, max, err)
		}
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("delete range %d-%d: %w", min, max, err)
	}
	return nil
}

// Set implements raft.StableStore.
func (s *BadgerStore) Set(key, val []byte) error {
	return s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(stableKey(key), append([]byte(nil), val...))
	})
}

// Get implements raft.StableStore; a missing key is ErrKeyNotFound.
func (s *BadgerStore) Get(key []byte) ([]byte, error) {
	var val []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(stableKey(key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrKeyNotFound
		}
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	return val, err
}

// SetUint64 implements raft.StableStore.
func (s *BadgerStore) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 implements raft.StableStore; a missing key is ErrKeyNotFound.
func (s *BadgerStore) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: stable key %q holds %d bytes, want 8", ErrLogCorrupt, key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// badgerLogger routes Badger's printf-style logging into zerolog; its info
// lines go to debug.
type badgerLogger struct{ zl zerolog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.log(b.zl.Error(), f, a) }
func (b badgerLogger) Warningf(f string, a ...any) { b.log(b.zl.Warn(), f, a) }
func (b badgerLogger) Infof(f string, a ...any)    { b.log(b.zl.Debug(), f, a) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.log(b.zl.Trace(), f, a) }

func (b badgerLogger) log(ev *zerolog.Event, f string, a []any) {
	if !ev.Enabled() {
		return
	}
	ev.Str(logfield.Detail, strings.TrimSpace(fmt.Sprintf(f, a...))).Msg("badger log")
}
