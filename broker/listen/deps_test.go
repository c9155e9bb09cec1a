package listen

import (
	"strings"
	"testing"

	"github.com/imqtt/imqtt/internal/testkit"
)

// TestDeps keeps the package at the bottom of broker/: it may use the standard
// library, zerolog and gorilla/websocket, and of imqtt's only its own
// proxyhdr.
func TestDeps(t *testing.T) {
	allowed := map[string]bool{
		"github.com/rs/zerolog":                         true,
		"github.com/gorilla/websocket":                  true,
		"github.com/imqtt/imqtt/broker/listen/proxyhdr": true,
	}
	for f, paths := range testkit.Imports(t, false) {
		for _, p := range paths {
			if strings.Contains(strings.SplitN(p, "/", 2)[0], ".") && !allowed[p] && !testkit.IsLeaf(p) {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
