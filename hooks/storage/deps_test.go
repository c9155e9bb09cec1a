package storage

import (
	"strings"
	"testing"

	"github.com/imqtt/imqtt/internal/testkit"
)

// TestDeps fails on an import the package must not have: the storage hook
// reaches raft through the Applier interface (not package cluster) and logs
// through the zerolog.Logger it is given.
func TestDeps(t *testing.T) {
	allowed := map[string]bool{"github.com/imqtt/imqtt/persist": true, "github.com/imqtt/imqtt/hooks/acl": true, "github.com/imqtt/imqtt/hooks/ext": true}
	for name, paths := range testkit.Imports(t, false) {
		for _, path := range paths {
			switch {
			case testkit.IsLeaf(path): // leaves (tools/deptest)
			case strings.HasPrefix(path, "github.com/imqtt/imqtt") && !allowed[path]:
				t.Errorf("%s imports %s: hooks/storage imports only persist, hooks/acl, hooks/ext and internal leaves", name, path)
			case path == "log" || path == "log/slog" || path == "github.com/rs/zerolog/log":
				t.Errorf("%s imports %s: log through Options.Log", name, path)
			}
		}
	}
}
