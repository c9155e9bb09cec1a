package engine

import (
	"testing"
	"unsafe"
)

// TestIdleStateSize pins the engine's fixed per-connection cost: the client
// and session structs an idle connected session holds (its one subscription
// adds a map entry in the session and a subRef in the trie). The budget of
// the 1M-device model is ~1 KB for the engine's state (docs/engine.md).
func TestIdleStateSize(t *testing.T) {
	c, s := unsafe.Sizeof(client{}), unsafe.Sizeof(session{})
	t.Logf("client %d B, session %d B, subRef %d B, trie node %d B", c, s, unsafe.Sizeof(subRef{}), unsafe.Sizeof(node{}))
	if c+s > 640 {
		t.Fatalf("client+session = %d B, over the 640 B share of the 1 KB budget", c+s)
	}
}
