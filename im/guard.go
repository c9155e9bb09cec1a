package im

import (
	"errors"

	"github.com/imqtt/imqtt/persist"
)

// Apply-time guards of changes (persist OpRequireRaw): a change decided on
// what was read (the target message's bytes, an admin's member record) is
// proposed with guards that those keys still hold what was read. A guard
// that fails at apply skips the whole command; the change re-reads and
// decides again (retryConflict).

// requireRaw returns the guard "raw key still holds value" for the start
// of a command.
func requireRaw(key, value []byte) []persist.Op {
	return []persist.Op{persist.RequireRawOp(key, value)}
}

// isGuardConflict reports whether err is a failed guard (nothing written).
func isGuardConflict(err error) bool { return errors.Is(err, persist.ErrConflict) }
