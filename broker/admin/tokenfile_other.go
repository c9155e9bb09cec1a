//go:build !unix

package admin

import (
	"io/fs"
	"os"
)

// openNoFollow opens path for reading (no O_NOFOLLOW on this platform).
func openNoFollow(path string) (*os.File, error) {
	return os.Open(path)
}

// checkOwner is not checked on this platform.
func checkOwner(fs.FileInfo) error { return nil }
