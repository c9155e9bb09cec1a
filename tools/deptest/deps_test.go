package deptest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/imqtt/imqtt"

// layer returns the architectural layer of a project package path (relative to the
// module), or "" for packages outside the layering (tools).
func layer(rel string) string {
	top, _, _ := strings.Cut(rel, "/")
	switch top {
	case "cmd", "broker", "hooks", "im", "cluster", "persist", "tools", "web":
		return top
	}
	return ""
}

// allowed lists, for each layer, the project layers it may import (its own
// layer is always allowed for sub-packages).
var allowed = map[string][]string{
	"cmd":     {"broker", "hooks", "im", "cluster", "persist", "web"},
	"broker":  {"hooks", "im", "cluster", "persist", "web"},
	"hooks":   {"im", "cluster", "persist"},
	"im":      {"persist"}, // im uses cluster only through an interface it defines
	"cluster": {"persist"},
	"persist": {},
	"web":     {}, // the embedded web client: static files, no imqtt imports
	"tools":   {"broker", "hooks", "im", "cluster", "persist"},
}

// mochiAllowed are the layers that may import mochi: its types stop at hooks.
var mochiAllowed = map[string]bool{"cmd": true, "broker": true, "hooks": true, "tools": true}

func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}}|{{join .Imports " "}}`,
		module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// Only production imports are layered: a test may drive its package through
		// a higher layer (e.g. hooks/metrics tests scrape through broker/admin).
		parts := strings.SplitN(sc.Text(), "|", 2)
		if len(parts) != 2 {
			continue
		}
		pkg := strings.TrimPrefix(parts[0], module+"/")
		from := layer(pkg)
		if from == "" {
			t.Errorf("package %s is outside the documented layout", parts[0])
			continue
		}
		checked++
		for _, list := range parts[1:] {
			for _, imp := range strings.Fields(list) {
				if strings.HasPrefix(imp, "github.com/mochi-mqtt/server") && !mochiAllowed[from] {
					t.Errorf("%s imports %s: mochi types stay in broker and hooks", pkg, imp)
				}
				if !strings.HasPrefix(imp, module+"/") {
					continue
				}
				to := layer(strings.TrimPrefix(imp, module+"/"))
				if to == from && to != "tools" {
					continue
				}
				ok := false
				for _, a := range allowed[from] {
					ok = ok || a == to
				}
				if !ok {
					t.Errorf("%s imports %s: %s may not import %s (DESIGN.md: cmd -> broker -> hooks -> {im, cluster} -> persist)", pkg, imp, from, to)
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d packages; go list output:\n%s", checked, out)
	}
}

func TestLayerTable(t *testing.T) {
	cases := map[string]string{"persist": "persist", "hooks/acl": "hooks", "broker/listen": "broker", "web": "web", "docs": "", "cmd/imqttd": "cmd"}
	for in, want := range cases {
		if got := layer(in); got != want {
			t.Errorf("layer(%q) = %q, want %q", in, got, want)
		}
	}
}
