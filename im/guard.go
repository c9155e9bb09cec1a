package im

import "github.com/imqtt/imqtt/persist"

// Apply-time guards of changes (persist OpRequireRaw, branch s10-guard):
// until that op is merged, requireRaw adds nothing and a change is checked
// only against the state read before proposing.

// requireRaw returns the guard "raw key still holds value" for the start
// of a command.
func requireRaw(key, value []byte) []persist.Op { return nil }

// isGuardConflict reports whether err is a failed guard (nothing written).
func isGuardConflict(err error) bool { return false }
