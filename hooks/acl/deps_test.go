package acl

import (
	"strings"
	"testing"

	"github.com/imqtt/imqtt/internal/testkit"
)

// TestDeps fails on an import the package must not have: any imqtt package
// but the internal/ leaves and hooks/ext, whose interface it implements
// (policies such as the IM namespace policy come in through WithPolicies, so
// acl stays a leaf), the standard loggers, or zerolog's global logger.
// extPkg holds the engine's extension interfaces.
const extPkg = "github.com/imqtt/imqtt/hooks/ext"

func TestDeps(t *testing.T) {
	for name, paths := range testkit.Imports(t, false) {
		for _, path := range paths {
			switch {
			case path == extPkg: // the engine's interfaces, which the hook implements
			case testkit.IsLeaf(path): // the leaf packages every layer may use (tools/deptest)
			case strings.HasPrefix(path, "github.com/imqtt/imqtt"):
				t.Errorf("%s imports %s: hooks/acl imports no imqtt package but internal leaves", name, path)
			case path == "log" || path == "log/slog" || path == "github.com/rs/zerolog/log":
				t.Errorf("%s imports %s: log through the zerolog.Logger passed to New", name, path)
			}
		}
	}
}
