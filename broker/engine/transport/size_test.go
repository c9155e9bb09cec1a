package transport

import (
	"testing"
	"unsafe"
)

// TestConnSize reports the per-connection struct size (an idle conn's share of
// the 8 KiB target) and fails if it grows past 384 bytes unnoticed.
func TestConnSize(t *testing.T) {
	n := unsafe.Sizeof(Conn{})
	t.Logf("unsafe.Sizeof(Conn{}) = %d", n)
	if n > 384 {
		t.Fatalf("Conn is %d bytes; keep it small (1M connections)", n)
	}
}
