package testkit

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestEventually(t *testing.T) {
	var n atomic.Int32
	Eventually(t, 5*time.Second, "three polls", func() bool { return n.Add(1) >= 3 })
	if got := n.Load(); got != 3 {
		t.Fatalf("cond called %d times, want 3", got)
	}
}

func TestImports(t *testing.T) {
	prod := Imports(t, false)
	if _, ok := prod["testkit_test.go"]; ok {
		t.Fatal("test file listed with tests=false")
	}
	if !slices.Contains(prod["testkit.go"], "github.com/rs/zerolog") {
		t.Fatalf("testkit.go imports %v, want zerolog among them", prod["testkit.go"])
	}
	all := Imports(t, true)
	if !slices.Contains(all["testkit_test.go"], "sync/atomic") {
		t.Fatalf("testkit_test.go imports %v", all["testkit_test.go"])
	}
}

func TestIsLeaf(t *testing.T) {
	for p, want := range map[string]bool{
		"github.com/imqtt/imqtt/internal/logfield": true,
		"github.com/imqtt/imqtt/persist":           false,
		"github.com/imqtt/imqtt/internalx":         false,
	} {
		if IsLeaf(p) != want {
			t.Errorf("IsLeaf(%q) = %v", p, !want)
		}
	}
}
