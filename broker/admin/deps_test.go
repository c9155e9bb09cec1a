package admin

import (
	"go/build"
	"strings"
	"testing"
)

// TestDeps enforces the import direction: nothing imports cmd, and admin serves
// metrics through prometheus.Gatherer rather than importing hooks/metrics.
func TestDeps(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		for _, bad := range []string{"github.com/imqtt/imqtt/cmd", "github.com/imqtt/imqtt/hooks/metrics"} {
			if imp == bad || strings.HasPrefix(imp, bad+"/") {
				t.Errorf("broker/admin imports %s", imp)
			}
		}
	}
}
