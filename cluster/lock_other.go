//go:build !unix

package cluster

import (
	"fmt"
	"os"
)

// dirLock on non-unix systems only creates the LOCK file: there is no advisory
// lock, so running two nodes on one directory is not detected there.
type dirLock struct{ f *os.File }

func lockDir(path string) (*dirLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	return &dirLock{f: f}, nil
}

func (l *dirLock) unlock() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}
