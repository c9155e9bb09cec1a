//go:build unix

package persist

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// FileLock is an exclusive flock on one file, holding the owner's pid. flock locks
// belong to the open file description, so a second LockFile in the same process
// conflicts as well as one in another process; the kernel drops the lock when the
// process dies. persist, cluster and the broker each lock their directory with it.
type FileLock struct{ f *os.File }

// LockFile creates path if needed and locks it exclusively without waiting. A
// lock held elsewhere gives an error wrapping ErrLocked that names the file and
// the holder's pid.
func LockFile(path string) (*FileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := "unknown"
		if b, rerr := os.ReadFile(path); rerr == nil && len(b) > 0 {
			holder = strings.TrimSpace(string(truncKey(b)))
		}
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is held by pid %s", ErrLocked, path, holder)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &FileLock{f: f}, nil
}

// Unlock releases the lock; idempotent and safe on a nil lock.
func (l *FileLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing the last descriptor drops the flock
	l.f = nil
	return err
}

// dirLock is the store's lock on <dir>/imqtt.lock.
type dirLock = FileLock

func lockDir(dir string) (*dirLock, error) {
	l, err := LockFile(filepath.Join(dir, lockFileName))
	if err != nil && errors.Is(err, ErrLocked) {
		return nil, fmt.Errorf("%w (%s is in use by another store)", err, dir)
	}
	return l, err
}

func (l *dirLock) release() error { return l.Unlock() }
