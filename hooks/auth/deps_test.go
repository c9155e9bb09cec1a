package auth

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestDeps fails on an import this package must not have: any imqtt package
// but hooks/ext, whose interface it implements (it sits below the broker and beside hooks/acl, which it reaches only
// through Options.WillCheck).
// extPkg holds the engine's extension interfaces.
const extPkg = "github.com/imqtt/imqtt/hooks/ext"

func TestDeps(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/imqtt/imqtt") && path != extPkg {
				t.Errorf("%s imports %s: hooks/auth imports no imqtt package", name, path)
			}
			if path == "log" || path == "log/slog" {
				t.Errorf("%s imports %s: log through the zerolog.Logger passed in", name, path)
			}
		}
	}
}
