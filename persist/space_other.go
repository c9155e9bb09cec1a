//go:build !linux

package persist

import "math"

// freeBytes is not implemented outside Linux: the free-space reserve is not
// enforced there (DESIGN.md "Disk full").
func freeBytes(string) (uint64, error) { return math.MaxUint64, nil }
