package persist

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	badger "github.com/dgraph-io/badger/v4"
)

// Badger wraps errors with y.Wrap, which (outside Badger's debug builds) formats
// the cause with %+v instead of %w: the chain is lost and errors.Is cannot see
// ENOSPC or EWOULDBLOCK. At this one boundary the cause is recognised by the text
// the standard library gives it (syscall.Errno.Error), after trying errors.Is.

var (
	enospcText = syscall.ENOSPC.Error() // "no space left on device"
	epermText  = syscall.EACCES.Error() // "permission denied"
)

// isDiskFull reports whether err is, or flattens, ENOSPC.
func isDiskFull(err error) bool {
	return err != nil && (errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), enospcText))
}

// mapWriteErr classifies an error from a Badger write.
func mapWriteErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrDiskFull):
		return err
	case isDiskFull(err):
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	case errors.Is(err, badger.ErrDBClosed), errors.Is(err, badger.ErrBlockedWrites):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// mapReadErr classifies an error from a Badger read.
func mapReadErr(err error) error {
	if errors.Is(err, badger.ErrDBClosed) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// mapOpenErr classifies an error from badger.Open of generation directory dir.
func mapOpenErr(err error, dir string) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Cannot acquire directory lock"):
		return fmt.Errorf("%w: %s: %w", ErrLocked, dir, err)
	case isDiskFull(err):
		return fmt.Errorf("%w: open %s: %w", ErrDiskFull, dir, err)
	case errors.Is(err, fs.ErrPermission) || strings.Contains(msg, epermText):
		return fmt.Errorf("open %s: %w: %w", dir, fs.ErrPermission, err)
	}
	return fmt.Errorf("%w: badger cannot open %s: %w", ErrCorrupt, dir, err)
}
