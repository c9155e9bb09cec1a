package im

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDeps: im imports persist and the internal/ leaves and nothing else of the project (cluster only
// in tests, through the Replicator interface in code); no broker types.
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
		test := strings.HasSuffix(f, "_test.go")
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case path == "github.com/imqtt/imqtt/persist":
			case strings.HasPrefix(path, "github.com/imqtt/imqtt/internal/"): // leaves (tools/deptest)
			case path == "github.com/imqtt/imqtt/cluster" && test:
			case strings.HasPrefix(path, "github.com/imqtt/imqtt"):
				t.Errorf("%s imports %s", f, path)
			case strings.HasPrefix(path, "github.com/mochi-mqtt/"), strings.HasPrefix(path, "github.com/hashicorp/"):
				t.Errorf("%s imports %s: im stays free of broker and raft types", f, path)
			}
		}
	}
}
