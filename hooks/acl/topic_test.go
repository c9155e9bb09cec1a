package acl

import "testing"

func TestValidFilter(t *testing.T) {
	for _, tc := range []struct {
		f    string
		want bool
	}{
		{"a", true}, {"a/b", true}, {"/", true}, {"a//b", true}, {"/a", true}, {"a/", true},
		{"+", true}, {"#", true}, {"+/+", true}, {"a/+/b", true}, {"a/#", true}, {"+/#", true},
		{"$SYS/#", true}, {"$share/g/a", true}, {"a b/c", true},
		{"", false}, {"a/#/b", false}, {"a+", false}, {"#x", false}, {"x#", false}, {"a/b+/c", false},
		{"##", false}, {"++", false}, {"#/", false}, {"a/#/", false}, {"a\x00b", false},
	} {
		if got := validFilter(tc.f); got != tc.want {
			t.Errorf("validFilter(%q) = %v, want %v", tc.f, got, tc.want)
		}
	}
}

func TestValidTopicName(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"a", true}, {"a/b", true}, {"/", true}, {"$SYS/x", true}, {"a b", true},
		{"", false}, {"a/+", false}, {"a/#", false}, {"a+b", false}, {"a\x00", false},
	} {
		if got := validTopicName(tc.s); got != tc.want {
			t.Errorf("validTopicName(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestNextLevel(t *testing.T) {
	var got []string
	for pos := 0; pos >= 0; {
		var l string
		l, pos = nextLevel("/a//b/", pos)
		got = append(got, l)
	}
	want := []string{"", "a", "", "b", ""}
	if len(got) != len(want) {
		t.Fatalf("levels = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("levels = %q, want %q", got, want)
		}
	}
}
