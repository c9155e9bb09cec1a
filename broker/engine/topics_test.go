package engine

import (
	"slices"
	"testing"
)

func TestValidFilter(t *testing.T) {
	for f, want := range map[string]bool{
		"a": true, "a/b": true, "#": true, "+": true, "a/+/c": true, "a/#": true, "+/+": true, "/": true,
		"$share/g/a/#": true, "$SYS/#": true,
		"": false, "a#": false, "a/#/b": false, "a+": false, "a/b+/c": false, "$share/g": false,
		"$share//a": false, "$share/g+/a": false, "a\x00b": false, "\xff": false, "$share/": false,
	} {
		if got := validFilter(f); got != want {
			t.Errorf("validFilter(%q) = %v, want %v", f, got, want)
		}
	}
}

func TestValidTopic(t *testing.T) {
	for s, want := range map[string]bool{"a": true, "a/b": true, "/": true, "": false, "a/+": false, "#": false, "a\x00": false, "\xc3\x28": false} {
		if got := validTopic(s); got != want {
			t.Errorf("validTopic(%q) = %v, want %v", s, got, want)
		}
	}
}

func ids(refs []subRef) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.s.id)
	}
	slices.Sort(out)
	return out
}

func TestTrieMatch(t *testing.T) {
	tr := newTrie()
	ss := map[string]*session{}
	for _, f := range []string{"a/b", "a/+", "a/#", "#", "+/b", "$SYS/#", "+/+", "a/b/c", "+/#"} {
		s := &session{id: f}
		ss[f] = s
		tr.subscribe(s, f, subOpts{})
	}
	cases := map[string][]string{
		"a/b":      {"#", "+/#", "+/+", "+/b", "a/#", "a/+", "a/b"},
		"a":        {"#", "+/#", "a/#"},
		"a/b/c":    {"#", "+/#", "a/#", "a/b/c"},
		"$SYS/x":   {"$SYS/#"},
		"$SYS":     {"$SYS/#"},
		"x/b":      {"#", "+/#", "+/+", "+/b"},
		"x/y/z/w":  {"#", "+/#"},
		"$other/b": nil,
	}
	for topic, want := range cases {
		if got := ids(tr.match(topic, nil)); !slices.Equal(got, want) {
			t.Errorf("match(%q) = %v, want %v", topic, got, want)
		}
	}
	for f, s := range ss {
		if !tr.unsubscribe(s, f) {
			t.Errorf("unsubscribe %q: not found", f)
		}
	}
	if len(tr.root.children) != 0 {
		t.Fatalf("trie not pruned: %v", tr.root.children)
	}
}

func TestTrieShared(t *testing.T) {
	tr := newTrie()
	a, b := &session{id: "a"}, &session{id: "b"}
	tr.subscribe(a, "$share/g/t/+", subOpts{})
	tr.subscribe(b, "$share/g/t/+", subOpts{})
	got := map[string]int{}
	for range 10 {
		refs := tr.match("t/x", nil)
		if len(refs) != 1 {
			t.Fatalf("shared group delivered %d copies, want 1", len(refs))
		}
		got[refs[0].s.id]++
	}
	if got["a"] != 5 || got["b"] != 5 {
		t.Fatalf("round robin uneven: %v", got)
	}
	tr.unsubscribe(a, "$share/g/t/+")
	tr.unsubscribe(b, "$share/g/t/+")
	if len(tr.root.children) != 0 {
		t.Fatal("trie not pruned after shared unsubscribe")
	}
}

func TestTrieRetained(t *testing.T) {
	tr := newTrie()
	for _, topic := range []string{"a", "a/b", "a/b/c", "x/b", "$SYS/up"} {
		tr.retain(&message{topic: topic, payload: []byte("p")})
	}
	topics := func(f string) []string {
		var out []string
		for _, m := range tr.retained(f, nil) {
			out = append(out, m.topic)
		}
		slices.Sort(out)
		return out
	}
	cases := map[string][]string{
		"#": {"a", "a/b", "a/b/c", "x/b"}, "a/#": {"a", "a/b", "a/b/c"}, "+/b": {"a/b", "x/b"},
		"a/+/c": {"a/b/c"}, "$SYS/#": {"$SYS/up"}, "+": {"a"}, "a/+/#": {"a/b", "a/b/c"}, "nope": nil,
	}
	for f, want := range cases {
		if got := topics(f); !slices.Equal(got, want) {
			t.Errorf("retained(%q) = %v, want %v", f, got, want)
		}
	}
	tr.retain(&message{topic: "a/b"}) // empty payload deletes
	if got := topics("a/b"); got != nil {
		t.Fatalf("retained after delete: %v", got)
	}
}
