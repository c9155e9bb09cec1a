//go:build unix

package listen

import "syscall"

// openFileLimit returns the soft RLIMIT_NOFILE of the process, 0 if unknown.
func openFileLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return uint64(r.Cur)
}
