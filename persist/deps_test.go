package persist

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDeps: persist imports nothing of the project (DESIGN.md: imports point
// down, persist is the bottom).
func TestDeps(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		ast, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			leaf := strings.HasPrefix(path, "github.com/imqtt/imqtt/internal/") // every layer may (tools/deptest)
			if strings.HasPrefix(path, "github.com/imqtt/imqtt") && !leaf {
				t.Errorf("%s imports %s", f, path)
			}
			if strings.HasPrefix(path, "github.com/mochi-mqtt/") || strings.HasPrefix(path, "github.com/hashicorp/") {
				t.Errorf("%s imports %s: persist stays free of broker and raft types", f, path)
			}
		}
	}
}
