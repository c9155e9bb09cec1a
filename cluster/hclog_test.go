package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/rs/zerolog"
)

type stringer struct{}

func (stringer) String() string { return "stringer-value" }

func TestHCLogAdapter(t *testing.T) {
	var buf bytes.Buffer
	h := newHCLog(zerolog.New(&buf).Level(zerolog.DebugLevel), "raft").Named("transport").With("peer", "n2")
	h.Info("entering leader state", "leader", stringer{})
	h.Info("compacting logs", "from", uint64(1), "to", 9)
	h.Warn("failed to contact", "server-id", "n3", "error", errors.New("boom"))
	h.Error("odd", "k")
	h.Debug("fmt", "v", hclog.Fmt("%d-%s", 7, "x"))
	h.Trace("hidden at debug")

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad json %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5 (trace filtered):\n%s", len(lines), buf.String())
	}
	want := []struct{ level, msg, key, val string }{
		{"info", "entering leader state", "leader", "stringer-value"},
		{"debug", "compacting logs", "to", "9"},
		{"warn", "failed to contact", "error", "boom"},
		{"error", "odd", "extra_value_at_end", "k"},
		{"debug", "fmt", "v", "7-x"},
	}
	for i, w := range want {
		m := lines[i]
		if m["level"] != w.level || m["message"] != w.msg {
			t.Errorf("line %d: level %v message %v, want %s %q", i, m["level"], m["message"], w.level, w.msg)
		}
		if got := strings.Trim(string(mustJSON(m[w.key])), `"`); got != w.val {
			t.Errorf("line %d: %s = %s, want %s", i, w.key, got, w.val)
		}
		if m["subsystem"] != "raft" || m["logger"] != "transport" || m["peer"] != "n2" {
			t.Errorf("line %d: missing implied fields: %v", i, m)
		}
	}
	if h.IsTrace() || !h.IsDebug() || h.GetLevel() != hclog.Debug {
		t.Errorf("level reporting: trace %v debug %v level %v", h.IsTrace(), h.IsDebug(), h.GetLevel())
	}
	buf.Reset()
	h.StandardLogger(nil).Print("[INFO] from the std logger")
	if !strings.Contains(buf.String(), "from the std logger") {
		t.Errorf("standard logger output: %q", buf.String())
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
