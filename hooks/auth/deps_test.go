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
// (it sits below the broker and beside hooks/acl, which it reaches only
// through Options.WillCheck).
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
			leaf := strings.HasPrefix(path, "github.com/imqtt/imqtt/internal/") // every layer may (tools/deptest)
			if strings.HasPrefix(path, "github.com/imqtt/imqtt") && !leaf {
				t.Errorf("%s imports %s: hooks/auth imports no imqtt package but internal leaves", name, path)
			}
			if path == "log" || path == "log/slog" {
				t.Errorf("%s imports %s: log through the zerolog.Logger passed in", name, path)
			}
		}
	}
}
