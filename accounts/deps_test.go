package accounts

import (
	"strings"
	"testing"

	"github.com/imqtt/imqtt/internal/testkit"
)

// TestDeps: accounts imports persist and the internal/ leaves and nothing
// else of the project (cluster only in tests, through the Replicator
// interface in code); no broker, mochi or raft types.
func TestDeps(t *testing.T) {
	for f, paths := range testkit.Imports(t, true) {
		test := strings.HasSuffix(f, "_test.go")
		for _, path := range paths {
			switch {
			case path == "github.com/imqtt/imqtt/persist":
			case testkit.IsLeaf(path):
			case path == "github.com/imqtt/imqtt/cluster" && test:
			case strings.HasPrefix(path, "github.com/imqtt/imqtt"):
				t.Errorf("%s imports %s", f, path)
			case strings.HasPrefix(path, "github.com/mochi-mqtt/"), strings.HasPrefix(path, "github.com/hashicorp/"):
				t.Errorf("%s imports %s: accounts stays free of broker and raft types", f, path)
			}
		}
	}
}
