package cluster

import (
	"go/build"
	"strings"
	"testing"
)

// TestDeps: cluster imports none of imqtt's packages (persist implements the
// StateMachine without cluster importing it) and no mochi types.
func TestDeps(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		leaf := strings.HasPrefix(imp, "github.com/imqtt/imqtt/internal/") // every layer may (tools/deptest)
		if strings.HasPrefix(imp, "github.com/imqtt/imqtt/") && !leaf || strings.HasPrefix(imp, "github.com/mochi-mqtt/") {
			t.Errorf("cluster imports %s", imp)
		}
	}
}
