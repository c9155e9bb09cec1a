//go:build !unix

package persist

// FileLock is a no-op where flock is unavailable.
type FileLock struct{}

// LockFile does not lock on this platform.
func LockFile(string) (*FileLock, error) { return &FileLock{}, nil }

// Unlock does nothing.
func (l *FileLock) Unlock() error { return nil }

type dirLock = FileLock

func lockDir(string) (*dirLock, error) { return &dirLock{}, nil }

func (l *dirLock) release() error { return nil }
