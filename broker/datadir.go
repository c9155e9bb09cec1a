package broker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/imqtt/imqtt/persist"
)

// nodeLockFile is the node-level lock in the data directory: one imqttd per
// directory. (persist and cluster lock their own sub-directories too.)
const nodeLockFile = "imqttd.lock"

// ErrDataDirLocked is returned by New when another process holds the data directory.
var ErrDataDirLocked = errors.New("data directory is locked by another imqttd")

// dataDir is the node's locked data directory.
type dataDir struct {
	path string
	lock *persist.FileLock
}

// openDataDir creates the directory if needed and takes an exclusive lock on it
// (persist.LockFile), released by close and by the kernel if the process dies.
func openDataDir(path string) (*dataDir, error) {
	if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", path, err)
	}
	l, err := persist.LockFile(filepath.Join(path, nodeLockFile))
	if err != nil {
		if errors.Is(err, persist.ErrLocked) {
			return nil, fmt.Errorf("%w: %w", ErrDataDirLocked, err)
		}
		return nil, err
	}
	return &dataDir{path: path, lock: l}, nil
}

// close releases the lock; idempotent.
func (d *dataDir) close() error {
	if d == nil {
		return nil
	}
	return d.lock.Unlock()
}
