package metrics

import (
	"go/build"
	"strings"
	"testing"
)

// TestDeps enforces the import direction: hooks may not import broker or cmd.
func TestDeps(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		for _, bad := range []string{"github.com/imqtt/imqtt/broker", "github.com/imqtt/imqtt/cmd"} {
			if imp == bad || strings.HasPrefix(imp, bad+"/") {
				t.Errorf("hooks/metrics imports %s", imp)
			}
		}
	}
}
