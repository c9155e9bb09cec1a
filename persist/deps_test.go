package persist

import (
	"strings"
	"testing"

	"github.com/imqtt/imqtt/internal/testkit"
)

// TestDeps: persist imports nothing of the project (DESIGN.md: imports point
// down, persist is the bottom).
func TestDeps(t *testing.T) {
	for f, paths := range testkit.Imports(t, true) {
		for _, path := range paths {
			if strings.HasPrefix(path, "github.com/imqtt/imqtt") && !testkit.IsLeaf(path) {
				t.Errorf("%s imports %s", f, path)
			}
			if strings.HasPrefix(path, "github.com/mochi-mqtt/") || strings.HasPrefix(path, "github.com/hashicorp/") {
				t.Errorf("%s imports %s: persist stays free of broker and raft types", f, path)
			}
		}
	}
}
