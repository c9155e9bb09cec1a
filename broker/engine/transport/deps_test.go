package transport

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDeps keeps the transport below the protocol layer: the standard library,
// broker/listen (listener config, Guard, TLS material) and its proxyhdr, mochi's packets (the
// fixed header type), zerolog and golang.org/x/sys/unix (writev without
// unsafe); nothing else of imqtt's.
func TestDeps(t *testing.T) {
	allowed := map[string]bool{
		"github.com/imqtt/imqtt/broker/listen":          true,
		"github.com/imqtt/imqtt/broker/listen/proxyhdr": true,
		"github.com/mochi-mqtt/server/v2/packets":       true,
		"github.com/rs/zerolog":                         true,
		"golang.org/x/sys/unix":                         true,
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
