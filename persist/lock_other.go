//go:build !unix

package persist

// dirLock is a no-op where flock does not exist; Badger's own directory lock is
// then the only guard.
type dirLock struct{}

func lockDir(string) (*dirLock, error) { return &dirLock{}, nil }

func (l *dirLock) release() error { return nil }
