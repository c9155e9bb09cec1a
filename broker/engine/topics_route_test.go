package engine

import (
	"slices"
	"testing"
)

// TestSharedGroupsAndMatchServed: the trie names the shared groups matching
// a topic by their full filter, and matchServed chooses only from the groups
// it is asked to serve (plain subscriptions always match).
func TestSharedGroupsAndMatchServed(t *testing.T) {
	tr := newTrie()
	a, b, c := &session{id: "a"}, &session{id: "b"}, &session{id: "c"}
	tr.subscribe(a, "$share/g/s/#", subOpts{qos: 1})
	tr.subscribe(b, "$share/h/s/+", subOpts{qos: 1})
	tr.subscribe(c, "s/x", subOpts{qos: 0})
	got := tr.sharedGroups("s/x")
	slices.Sort(got)
	if want := []string{"$share/g/s/#", "$share/h/s/+"}; !slices.Equal(got, want) {
		t.Fatalf("sharedGroups = %v, want %v", got, want)
	}
	if got := tr.sharedGroups("t/x"); len(got) != 0 {
		t.Fatalf("sharedGroups(t/x) = %v, want none", got)
	}
	ids := func(refs []subRef) []string {
		var out []string
		for _, r := range refs {
			out = append(out, r.s.id)
		}
		slices.Sort(out)
		return out
	}
	serveG := func(f string) bool { return f == "$share/g/s/#" }
	if got := ids(tr.matchServed("s/x", serveG, nil)); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("matchServed(g) = %v, want [a c]", got)
	}
	none := func(string) bool { return false }
	if got := ids(tr.matchServed("s/x", none, nil)); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("matchServed(none) = %v, want [c]", got)
	}
	if got := ids(tr.match("s/x", nil)); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("match = %v, want [a b c]", got)
	}
}
