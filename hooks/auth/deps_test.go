package auth

import (
	"strings"
	"testing"

	"github.com/imqtt/imqtt/internal/testkit"
)

// extPkg holds the engine's extension interfaces.
const extPkg = "github.com/imqtt/imqtt/hooks/ext"

// TestDeps fails on an import this package must not have: any imqtt package
// but internal leaves and hooks/ext, whose interface it implements (it sits
// below the broker and beside hooks/acl, which it reaches only through
// Options.WillCheck).
func TestDeps(t *testing.T) {
	for name, paths := range testkit.Imports(t, false) {
		for _, path := range paths {
			if strings.HasPrefix(path, "github.com/imqtt/imqtt") && !testkit.IsLeaf(path) && path != extPkg {
				t.Errorf("%s imports %s: hooks/auth imports no imqtt package but internal leaves", name, path)
			}
			if path == "log" || path == "log/slog" {
				t.Errorf("%s imports %s: log through the zerolog.Logger passed in", name, path)
			}
		}
	}
}
