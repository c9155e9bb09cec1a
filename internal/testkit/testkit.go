package testkit

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// pollInterval is how often Eventually asks its condition again.
const pollInterval = 5 * time.Millisecond

// Eventually polls cond until it holds, failing the test (t.Fatalf) with what
// once d has passed without it.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(pollInterval) // polling interval, not synchronisation
	}
}

// Logger returns a zerolog logger at level that writes through t.Log, so a
// test's lines show with its failure (STYLE.md 9).
func Logger(t testing.TB, level zerolog.Level) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(level)
}

// Imports returns, for every Go file of the current directory (the package
// under test), the import paths it declares. With tests false, _test.go files
// are left out. It fails the test if no file is found, so a TestDeps built on
// it cannot pass by checking nothing.
func Imports(t testing.TB, tests bool) map[string][]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	out := map[string][]string{}
	for _, f := range files {
		if !tests && strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		paths := []string{}
		for _, imp := range af.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatalf("%s: import %s: %v", f, imp.Path.Value, err)
			}
			paths = append(paths, p)
		}
		out[f] = paths
	}
	if len(out) == 0 {
		t.Fatal("no Go file in the package directory")
	}
	return out
}

// IsLeaf reports whether import path p is one of the internal/ leaves that
// every layer may import (tools/deptest).
func IsLeaf(p string) bool {
	return strings.HasPrefix(p, "github.com/imqtt/imqtt/internal/")
}
