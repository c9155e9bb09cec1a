package route

import (
	"slices"
	"sort"
	"testing"
)

func keys(m map[string]struct{}) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestTableMatch checks the remote route table's matching [MQTT-4.7]: '+'
// one level, '#' the rest and its parent, no wildcard at the first level of
// a '$' topic, shared filters by their inner filter under their whole name,
// and removal (with pruning of emptied levels).
func TestTableMatch(t *testing.T) {
	var tb table
	for _, r := range []struct{ id, filter string }{
		{"n1", "a/b"}, {"n2", "a/+"}, {"n3", "a/#"}, {"n4", "#"}, {"n5", "+/b"},
		{"n6", "$SYS/#"}, {"n2", "$share/g/a/b"}, {"n3", "$share/g/a/b"}, {"n1", "$share/h/a/#"},
		{"n7", "x/+/z"}, {"n8", "$share//bad"},
	} {
		tb.add(r.id, r.filter)
	}
	for _, c := range []struct {
		topic  string
		plain  []string
		shared map[string][]string
	}{
		{"a/b", []string{"n1", "n2", "n3", "n4", "n5"}, map[string][]string{"$share/g/a/b": {"n2", "n3"}, "$share/h/a/#": {"n1"}}},
		{"a", []string{"n3", "n4"}, map[string][]string{"$share/h/a/#": {"n1"}}},
		{"a/b/c", []string{"n3", "n4"}, map[string][]string{"$share/h/a/#": {"n1"}}},
		{"$SYS/x", []string{"n6"}, nil},
		{"$other/b", nil, nil},
		{"x/y/z", []string{"n4", "n7"}, nil},
		{"x/y", []string{"n4"}, nil},
	} {
		m := tb.match(c.topic)
		if got := keys(m.plain); !slices.Equal(got, c.plain) {
			t.Errorf("%s: plain %v, want %v", c.topic, got, c.plain)
		}
		if len(m.shared) != len(c.shared) {
			t.Errorf("%s: shared %v, want %v", c.topic, m.shared, c.shared)
		}
		for f, want := range c.shared {
			if got := keys(m.shared[f]); !slices.Equal(got, want) {
				t.Errorf("%s: shared %s %v, want %v", c.topic, f, got, want)
			}
		}
	}
	tb.remove("n2", "$share/g/a/b")
	tb.remove("n3", "$share/g/a/b")
	tb.remove("n7", "x/+/z")
	tb.remove("n9", "never/added")
	if m := tb.match("a/b"); len(m.shared["$share/g/a/b"]) != 0 {
		t.Errorf("removed shared routes still match: %v", m.shared)
	}
	if _, ok := tb.root.children["x"]; ok {
		t.Error("emptied levels x/+/z not pruned")
	}
}
