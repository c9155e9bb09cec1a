package listen

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDeps keeps the package at the bottom of broker/: it may use the standard
// library, mochi's listeners package, zerolog and gorilla/websocket, and of
// imqtt's only its own proxyhdr.
func TestDeps(t *testing.T) {
	allowed := map[string]bool{
		"github.com/mochi-mqtt/server/v2/listeners":     true,
		"github.com/rs/zerolog":                         true,
		"github.com/gorilla/websocket":                  true,
		"github.com/imqtt/imqtt/broker/listen/proxyhdr": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(strings.SplitN(p, "/", 2)[0], ".") && !allowed[p] {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
