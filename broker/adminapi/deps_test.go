package adminapi

import (
	"go/build"
	"strings"
	"testing"
)

// TestDeps enforces the import direction: the API sits in broker and may use
// broker/admin, hooks, cluster and persist, but never cmd or the broker
// package itself (which imports it).
func TestDeps(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if imp == "github.com/imqtt/imqtt/broker" || strings.HasPrefix(imp, "github.com/imqtt/imqtt/cmd") {
			t.Errorf("broker/adminapi imports %s", imp)
		}
	}
}
