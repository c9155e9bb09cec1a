package acl

import (
	"strings"
	"testing"
)

// refMatch is an independent, split-based MQTT matcher (4.7): the reference the
// compiled matchers are checked against.
func refMatch(filter, topic string) bool {
	f := strings.Split(filter, "/")
	t := strings.Split(topic, "/")
	if strings.HasPrefix(t[0], "$") && (f[0] == "+" || f[0] == "#") {
		return false
	}
	for i, fl := range f {
		if fl == "#" {
			return true
		}
		if i >= len(t) || fl != "+" && fl != t[i] {
			return false
		}
	}
	return len(f) == len(t)
}

func mustPattern(t testing.TB, text string, placeholders bool) pattern {
	t.Helper()
	p, err := compilePattern(text, placeholders)
	if err != nil {
		t.Fatalf("compilePattern(%q): %v", text, err)
	}
	return p
}

func TestPatternMatchTopic(t *testing.T) {
	s := newSubject("alice", "c1")
	for _, tc := range []struct {
		pat, topic string
		want       bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/b", "a/b/c", false},
		{"a/b", "a", false},
		{"a/+", "a/b", true},
		{"a/+", "a/", true},
		{"a/+", "a", false},
		{"a/+", "a/b/c", false},
		{"a/#", "a", true}, // '#' includes the parent level
		{"a/#", "a/b/c", true},
		{"a/#", "ab", false},
		{"#", "a", true},
		{"#", "/", true},
		{"#", "$SYS/x", false}, // [MQTT-4.7.2-1]
		{"+/x", "$SYS/x", false},
		{"+/#", "$x", false},
		{"$SYS/#", "$SYS/x", true},
		{"$SYS/#", "$SYS", true},
		{"a/+/c", "a/$b/c", true}, // '$' matters only in the first level
		{"/+", "/x", true},
		{"+", "", true},
		{"a//b", "a//b", true},
		{"users/%u/#", "users/alice/x", true},
		{"users/%u/#", "users/alice", true},
		{"users/%u/#", "users/bob/x", false},
		{"users/%u/#", "users/alic/x", false},
		{"users/%u/#", "users/alicex/x", false},
		{"c/%c", "c/c1", true},
		{"c/x-%c-y", "c/x-c1-y", true},
		{"c/x-%c-y", "c/x-c1-", false},
		{"c/%u%c", "c/alicec1", true},
		{"c/%x", "c/%x", true},
	} {
		p := mustPattern(t, tc.pat, true)
		if got := p.matchTopic(tc.topic, &s); got != tc.want {
			t.Errorf("match(%q, %q) = %v, want %v", tc.pat, tc.topic, got, tc.want)
		}
	}
}

func TestPatternCovers(t *testing.T) {
	s := newSubject("alice", "c1")
	for _, tc := range []struct {
		pat, filter string
		want        bool
	}{
		{"a/b", "a/b", true},
		{"a/+", "a/b", true},
		{"a/+", "a/+", true},
		{"a/+", "a/#", false},
		{"a/+", "#", false},
		{"a/+", "+/b", false},
		{"a/b", "a/+", false},
		{"a/b", "a/#", false},
		{"a/#", "a/#", true},
		{"a/#", "a", true},
		{"a/#", "a/+/c", true},
		{"a/#", "a/+/#", true},
		{"a/#", "+/b", false},
		{"a/+/#", "a/#", false}, // "a/#" matches "a", "a/+/#" does not
		{"a/+/#", "a/+", true},
		{"#", "#", true},
		{"#", "+/x", true},
		{"#", "$SYS/#", false},
		{"+/#", "$SYS/x", false},
		{"+", "+", true},
		{"+", "#", false},
		{"$SYS/#", "$SYS/+", true},
		{"$SYS/#", "$SYS/#", true},
		{"users/%u/#", "users/alice/#", true},
		{"users/%u/#", "users/+/#", false},
		{"users/%u/#", "users/#", false},
		{"users/%u", "users/alice", true},
	} {
		p := mustPattern(t, tc.pat, true)
		if got := p.covers(tc.filter, &s); got != tc.want {
			t.Errorf("covers(%q, %q) = %v, want %v", tc.pat, tc.filter, got, tc.want)
		}
	}
}

func TestPatternOverlaps(t *testing.T) {
	s := newSubject("alice", "c1")
	for _, tc := range []struct {
		pat, filter string
		want        bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/b", "a/+", true},
		{"a/b", "a/#", true},
		{"a/b", "#", true},
		{"a/b", "+/+", true},
		{"a/b", "+", false},
		{"a/b/#", "a", false},
		{"a/b/#", "a/+", true}, // "a/b"
		{"a/#", "a", true},
		{"a", "a/#", true}, // "a/#" matches "a"
		{"a", "a/+", false},
		{"#", "$SYS/x", false},
		{"$SYS/#", "#", false},
		{"$SYS/#", "+/broker", false},
		{"$SYS/x", "$SYS/+", true},
		{"+", "#", true},
		{"+/b", "a/#", true},
		{"secret/#", "+/+", true},
		{"users/%u/#", "users/+/x", true},
		{"users/%u/#", "users/bob/x", false},
		{"%u/x", "+/x", true},
		{"$%u/x", "+/x", false},
	} {
		p := mustPattern(t, tc.pat, true)
		if got := p.overlaps(tc.filter, &s); got != tc.want {
			t.Errorf("overlaps(%q, %q) = %v, want %v", tc.pat, tc.filter, got, tc.want)
		}
	}
}

// allFilters enumerates valid filters of up to depth levels over alphabet.
func allFilters(alphabet []string, depth int) []string {
	var out []string
	cur := []string{""}
	for d := 1; d <= depth; d++ {
		var next []string
		for _, prefix := range cur {
			for _, l := range alphabet {
				f := l
				if d > 1 {
					f = prefix + "/" + l
				}
				next = append(next, f)
				if validFilter(f) {
					out = append(out, f)
				}
			}
		}
		cur = next
	}
	return out
}

// TestPatternAgainstReference checks matchTopic, covers and overlaps against
// their definitions over every filter of depth <= 3 and a topic universe rich
// enough to tell them apart (a fresh level "z", a '$' level, an empty level and
// one level deeper than any filter): exact, not just sound.
func TestPatternAgainstReference(t *testing.T) {
	filters := allFilters([]string{"a", "$s", "", "+", "#"}, 3)
	// Valid topic names, then the empty string: overlaps may count it (an
	// over-approximation that only widens denials), covers and matchTopic may not.
	var topics []string
	for _, f := range allFilters([]string{"a", "$s", "", "z"}, 4) {
		if validTopicName(f) {
			topics = append(topics, f)
		}
	}
	valid := len(topics)
	topics = append(topics, "")
	s := newSubject("u", "c")
	match := make(map[string][]bool, len(filters))
	for _, f := range filters {
		m := make([]bool, len(topics))
		p := mustPattern(t, f, false)
		for i, tp := range topics {
			m[i] = refMatch(f, tp)
			if got := p.matchTopic(tp, &s); i < valid && got != m[i] {
				t.Fatalf("matchTopic(%q, %q) = %v, reference %v", f, tp, got, m[i])
			}
		}
		match[f] = m
	}
	for _, pf := range filters {
		p := mustPattern(t, pf, false)
		pm := match[pf]
		for _, f := range filters {
			fm := match[f]
			cover, overlap, overlapEmpty := true, false, false
			for i := range topics {
				if i < valid && fm[i] && !pm[i] {
					cover = false
				}
				if fm[i] && pm[i] {
					overlapEmpty = true
					overlap = overlap || i < valid
				}
			}
			if got := p.covers(f, &s); got != cover {
				t.Errorf("covers(%q, %q) = %v, reference %v", pf, f, got, cover)
			}
			if got := p.overlaps(f, &s); got != overlap && !(got && overlapEmpty) {
				t.Errorf("overlaps(%q, %q) = %v, reference %v", pf, f, got, overlap)
			}
		}
	}
}

func TestPoisoned(t *testing.T) {
	s := newSubject("", "")
	for _, tc := range []struct {
		pat, topic string
		want       bool
	}{
		{"users/%u/private", "users/x/private", true},
		{"users/%u/private", "users/anything/else/deep", true},
		{"users/%u/private", "users", true},
		{"users/%u/private", "other/x", false},
		{"%u/x", "$SYS/broker", true},
		{"+/%c", "$x/y", false},
		{"+/%c", "a/y", true},
	} {
		p := mustPattern(t, tc.pat, true)
		q := p.poisoned()
		if got := q.matchTopic(tc.topic, &s); got != tc.want {
			t.Errorf("poisoned(%q).match(%q) = %v, want %v", tc.pat, tc.topic, got, tc.want)
		}
	}
}

func TestSplitTemplate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []part
	}{
		{"%u", []part{{ph: 'u'}}},
		{"x%uy", []part{{lit: "x"}, {ph: 'u'}, {lit: "y"}}},
		{"%u%c", []part{{ph: 'u'}, {ph: 'c'}}},
		{"%%u", []part{{lit: "%"}, {ph: 'u'}}},
		{"a%xb%c", []part{{lit: "a%xb"}, {ph: 'c'}}},
		{"a%", []part{{lit: "a%"}}},
	} {
		got := splitTemplate(tc.in)
		if len(got) != len(tc.want) {
			t.Errorf("splitTemplate(%q) = %+v, want %+v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("splitTemplate(%q) = %+v, want %+v", tc.in, got, tc.want)
				break
			}
		}
	}
}
