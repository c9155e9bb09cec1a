package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/rs/zerolog"
)

// Directory names under DataDir/raft, and fixed raft parameters.
const (
	raftDirName   = "raft"
	walDirName    = "wal"  // LogStoreWAL
	badgerDirName = "log"  // LogStoreBadger
	lockFileName  = "LOCK" // dirLock
	snapshotsKept = 2      // snapshots retained on disk (FileSnapshotStore adds "snapshots/")
	logCacheSize  = 512    // recent entries kept in memory for replication
	tcpMaxPool    = 3      // pooled connections per peer
	tcpTimeout    = 10 * time.Second
)

// logStore is what raft needs from one log + stable store.
type logStore interface {
	raft.LogStore
	raft.StableStore
	io.Closer
}

var (
	_ logStore = (*walStore)(nil)
	_ logStore = (*BadgerStore)(nil)
)

// walStore is a raft-wal WAL plus its bbolt meta store: WAL.Close (v0.4.0) does
// not close the meta store, whose file lock would then outlive the node.
type walStore struct {
	*wal.WAL
	meta *metadb.BoltMetaDB
}

// Close closes the WAL, then its meta store.
func (s *walStore) Close() error {
	return errors.Join(s.WAL.Close(), s.meta.Close())
}

// openLogStore opens the log store of the given kind under raftDir. It refuses
// (ErrStateMismatch) when the directory of the other kind holds data: switching
// kinds would look like an empty log and bootstrap a second history.
func openLogStore(kind, raftDir string, zl zerolog.Logger, hl hclog.Logger) (logStore, error) {
	mine, other := filepath.Join(raftDir, walDirName), filepath.Join(raftDir, badgerDirName)
	otherKind := LogStoreBadger
	if kind == LogStoreBadger {
		mine, other = other, mine
		otherKind = LogStoreWAL
	}
	used, err := dirHasFiles(other)
	if err != nil {
		return nil, err
	}
	if used {
		return nil, fmt.Errorf("%w: %s holds a %q log store but log_store is %q", ErrStateMismatch, other, otherKind, kind)
	}
	if err := os.MkdirAll(mine, 0o700); err != nil {
		return nil, fmt.Errorf("create log store dir: %w", err)
	}
	switch kind {
	case LogStoreWAL:
		meta := &metadb.BoltMetaDB{}
		w, err := wal.Open(mine, wal.WithLogger(hl.Named("wal")), wal.WithMetaStore(meta))
		if err != nil {
			_ = meta.Close()
			return nil, fmt.Errorf("open raft-wal %s: %w", mine, err)
		}
		return &walStore{WAL: w, meta: meta}, nil
	case LogStoreBadger:
		return OpenBadgerStore(mine, zl)
	default:
		return nil, fmt.Errorf("%w: cluster.log_store: unsupported log store %q", ErrInvalidConfig, kind)
	}
}

// dirHasFiles reports whether dir exists and is not empty.
func dirHasFiles(dir string) (bool, error) {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("inspect %s: %w", dir, err)
	}
	defer func() { _ = f.Close() }()
	names, err := f.Readdirnames(1)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("inspect %s: %w", dir, err)
	}
	return len(names) > 0, nil
}

// countingStore counts log appends (StoreLog/StoreLogs calls: one fsync each
// in both stores) for Node.Stats. It forwards raft.MonotonicLogStore, which
// raft-wal implements.
type countingStore struct {
	logStore
	appends atomic.Uint64
}

// StoreLog implements raft.LogStore.
func (c *countingStore) StoreLog(l *raft.Log) error {
	c.appends.Add(1)
	return c.logStore.StoreLog(l)
}

// StoreLogs implements raft.LogStore.
func (c *countingStore) StoreLogs(logs []*raft.Log) error {
	c.appends.Add(1)
	return c.logStore.StoreLogs(logs)
}

// IsMonotonic implements raft.MonotonicLogStore.
func (c *countingStore) IsMonotonic() bool {
	m, ok := c.logStore.(raft.MonotonicLogStore)
	return ok && m.IsMonotonic()
}
