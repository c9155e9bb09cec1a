package storage

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestDeps fails on an import the package must not have: the storage hook
// reaches raft through the Applier interface (not package cluster) and logs
// through the zerolog.Logger it is given.
func TestDeps(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"github.com/imqtt/imqtt/persist": true, "github.com/imqtt/imqtt/hooks/acl": true}
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
			case strings.HasPrefix(path, "github.com/imqtt/imqtt/internal/"): // leaves (tools/deptest)
			case strings.HasPrefix(path, "github.com/imqtt/imqtt") && !allowed[path]:
				t.Errorf("%s imports %s: hooks/storage imports only persist, hooks/acl and internal leaves", name, path)
			case path == "log" || path == "log/slog" || path == "github.com/rs/zerolog/log":
				t.Errorf("%s imports %s: log through Options.Log", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source file checked")
	}
}
