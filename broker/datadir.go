package broker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// nodeLockFile is the node-level lock in the data directory: one imqttd per
// directory. (persist and cluster lock their own sub-directories too.)
const nodeLockFile = "imqttd.lock"

// ErrDataDirLocked is returned by New when another process holds the data directory.
var ErrDataDirLocked = errors.New("data directory is locked by another imqttd")

// dataDir is the node's locked data directory.
type dataDir struct {
	path string
	f    *os.File
}

// openDataDir creates the directory if needed and takes an exclusive flock on it,
// released by close (and by the kernel if the process dies).
func openDataDir(path string) (*dataDir, error) {
	if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", path, err)
	}
	lock := filepath.Join(path, nodeLockFile)
	f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", lock, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(lock)
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (lock file %s, pid %s)", ErrDataDirLocked, path, lock, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("lock %s: %w", lock, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dataDir{path: path, f: f}, nil
}

// close releases the lock; idempotent.
func (d *dataDir) close() error {
	if d == nil || d.f == nil {
		return nil
	}
	_ = d.f.Truncate(0)
	err := d.f.Close()
	d.f = nil
	return err
}
