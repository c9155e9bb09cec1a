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
// module), or "" for packages outside the documented layout. "internal" is the
// layer of the leaf packages under internal/ (see doc.go).
func layer(rel string) string {
	top, _, _ := strings.Cut(rel, "/")
	switch top {
	case "cmd", "broker", "hooks", "im", "accounts", "cluster", "persist", "tools", "web", "internal", "tokens", "sdk", "examples":
		return top
	}
	return ""
}

// allowed lists, for each layer, the project layers it may import (its own
// layer is always allowed for sub-packages). Every layer may import the
// internal/ leaves; they import nothing of ours outside internal/.
var allowed = map[string][]string{
	"cmd":      {"broker", "hooks", "im", "accounts", "cluster", "persist", "web", "internal", "tokens"},
	"broker":   {"hooks", "im", "accounts", "cluster", "persist", "web", "internal", "tokens"},
	"hooks":    {"im", "accounts", "cluster", "persist", "internal", "tokens"},
	"im":       {"persist", "internal"}, // im uses cluster only through an interface it defines
	"accounts": {"persist", "internal"}, // the user store: im's layer, raft through its own Replicator
	"cluster":  {"persist", "internal"},
	"persist":  {"internal"},
	"web":      {}, // the embedded web client: static files, no imqtt imports
	"tools":    {"broker", "hooks", "im", "accounts", "cluster", "persist", "internal", "tokens"},
	"tokens":   {"persist", "internal"}, // app-backend tokens: raft through an interface, like im
	"internal": {},
	"sdk":      {},      // client SDKs: clients of the protocol, never of the broker (see sdkExternal)
	"examples": {"sdk"}, // runnable SDK examples
}

// sdkExternal are the only non-standard-library modules the Go SDK may
// import (production code): the Paho MQTT clients. An SDK user pulls in
// nothing else.
var sdkExternal = []string{"github.com/eclipse/paho.golang/", "github.com/eclipse/paho.mqtt.golang"}

// isStdlib reports whether import path imp is in the standard library (its
// first element has no dot).
func isStdlib(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}

// mochiCodec is the one package of mochi the module may import (issue 17):
// the MQTT wire codec. mochi's Server, hooks, listeners and the rest are not
// used anywhere, tests included.
const mochiCodec = "github.com/mochi-mqtt/server/v2/packets"

// mochiAllowed are the layers that may import the codec: its types stop at hooks.
var mochiAllowed = map[string]bool{"cmd": true, "broker": true, "hooks": true, "tools": true}

// mochiFree are packages inside a mochi-allowed layer that must not import
// mochi: the admin API reads the MQTT side through its own interface
// (adminapi.MQTT), so it serves on either engine.
var mochiFree = []string{"broker/adminapi"}

// testkit is the tree of shared test helpers: only _test.go files import it
// (go list's Imports, checked here, are production imports).
const testkit = "internal/testkit"

// under reports whether package path rel is dir or below it.
func under(rel, dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }

func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}}|{{join .Imports " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}`,
		module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// Only production imports are layered: a test may drive its package through
		// a higher layer (e.g. hooks/metrics tests scrape through broker/admin).
		parts := strings.SplitN(sc.Text(), "|", 3)
		if len(parts) != 3 {
			continue
		}
		pkg := strings.TrimPrefix(parts[0], module+"/")
		from := layer(pkg)
		if from == "" {
			t.Errorf("package %s is outside the documented layout", parts[0])
			continue
		}
		checked++
		// No test imports more of mochi than the codec either.
		for _, imp := range strings.Fields(parts[2]) {
			if strings.HasPrefix(imp, "github.com/mochi-mqtt/") && imp != mochiCodec {
				t.Errorf("%s (tests) imports %s: only %s may be imported from mochi", pkg, imp, mochiCodec)
			}
		}
		for _, list := range parts[1:2] {
			for _, imp := range strings.Fields(list) {
				if strings.HasPrefix(imp, "github.com/mochi-mqtt/") {
					if imp != mochiCodec {
						t.Errorf("%s imports %s: only %s may be imported from mochi", pkg, imp, mochiCodec)
					}
					if !mochiAllowed[from] {
						t.Errorf("%s imports %s: mochi types stay in broker and hooks", pkg, imp)
					}
					for _, free := range mochiFree {
						if under(pkg, free) {
							t.Errorf("%s imports %s: it reads the MQTT side through its own interface, never mochi", pkg, imp)
						}
					}
				}
				if from == "sdk" && !strings.HasPrefix(imp, module+"/") && !isStdlib(imp) {
					ok := false
					for _, p := range sdkExternal {
						ok = ok || strings.HasPrefix(imp, p)
					}
					if !ok {
						t.Errorf("%s imports %s: the SDK may import only the standard library and %v", pkg, imp, sdkExternal)
					}
				}
				if !strings.HasPrefix(imp, module+"/") {
					continue
				}
				rel := strings.TrimPrefix(imp, module+"/")
				if under(rel, testkit) && !under(pkg, testkit) {
					t.Errorf("%s imports %s: test helpers are imported by _test.go files only", pkg, imp)
				}
				to := layer(rel)
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
	cases := map[string]string{"persist": "persist", "hooks/acl": "hooks", "broker/listen": "broker", "web": "web", "docs": "", "cmd/imqttd": "cmd",
		"internal/mqtttopic": "internal", "internal/testkit": "internal", "internal/username": "internal",
		"sdk/go/imqtt": "sdk", "examples/echobot": "examples"}
	for in, want := range cases {
		if got := layer(in); got != want {
			t.Errorf("layer(%q) = %q, want %q", in, got, want)
		}
	}
}
