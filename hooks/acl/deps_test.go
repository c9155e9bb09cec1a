package acl

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestDeps fails on an import the package must not have: any imqtt package
// but hooks/ext, whose interface it implements (policies such as the IM namespace policy come in through WithPolicies, so
// acl stays a leaf), the standard loggers, or zerolog's global logger.
// extPkg holds the engine's extension interfaces.
const extPkg = "github.com/imqtt/imqtt/hooks/ext"

func TestDeps(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case path == extPkg: // the engine's interfaces, which the hook implements
			case strings.HasPrefix(path, "github.com/imqtt/imqtt"):
				t.Errorf("%s imports %s: hooks/acl imports no imqtt package", name, path)
			case path == "log" || path == "log/slog" || path == "github.com/rs/zerolog/log":
				t.Errorf("%s imports %s: log through the zerolog.Logger passed to New", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source file checked")
	}
}
