package adminapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/imqtt/imqtt/internal/mqtttopic"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in     string
		ok     bool
		group  string
		levels int
	}{
		{"a", true, "", 1},
		{"a/b/c", true, "", 3},
		{"#", true, "", 1},
		{"+", true, "", 1},
		{"a/+/c/#", true, "", 4},
		{"/", true, "", 2},
		{"a//b", true, "", 3},
		{"$SYS/#", true, "", 2},
		{"$share/g/a/#", true, "g", 2},
		{"$share/g/#", true, "g", 1},
		{"$SHARE/g/a", true, "", 3}, // case-sensitive: an ordinary filter
		{"", false, "", 0},
		{"a/#/b", false, "", 0},
		{"a#", false, "", 0},
		{"a/b+", false, "", 0},
		{"+a", false, "", 0},
		{"a\x00b", false, "", 0},
		{"\xff", false, "", 0},
		{"$share/", false, "", 0},
		{"$share//a", false, "", 0},
		{"$share/g", false, "", 0},
		{"$share/g/", false, "", 0},
		{"$share/g+/a", false, "", 0},
		{"$share/g/a/#/b", false, "", 0},
		{strings.Repeat("a", maxTopicLen+1), false, "", 0},
	}
	for _, tc := range tests {
		f, err := ParseFilter(tc.in)
		if tc.ok != (err == nil) {
			t.Errorf("ParseFilter(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidFilter) {
				t.Errorf("ParseFilter(%q) = %v, does not wrap ErrInvalidFilter", tc.in, err)
			}
			continue
		}
		if f.Raw != tc.in || f.Group != tc.group || len(f.Levels) != tc.levels {
			t.Errorf("ParseFilter(%q) = %+v", tc.in, f)
		}
	}
}

func TestValidTopic(t *testing.T) {
	for in, ok := range map[string]bool{
		"a": true, "a/b": true, "/": true, "$SYS/x": true, "a b": true,
		"": false, "a/+": false, "#": false, "a\x00": false, "\xc3": false,
	} {
		err := ValidTopic(in)
		if ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidTopic)) {
			t.Errorf("ValidTopic(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		outer, inner string
		want         bool
	}{
		{"#", "a", true},
		{"#", "a/b/#", true},
		{"#", "+", true},
		{"#", "$SYS/a", false},
		{"+/#", "$SYS/a", false},
		{"$SYS/#", "$SYS/a/+", true},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/#", "a/#", true},
		{"a/#", "b", false},
		{"a/+", "a/b", true},
		{"a/+", "a/+", true},
		{"a/+", "a/#", false},
		{"a/+", "a", false},
		{"a/+", "a/b/c", false},
		{"a/b", "a/b", true},
		{"a/b", "a/+", false},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
		{"+/+", "/", true},
		{"a/b", "$share/g/a/b", true},
		{"$share/g/#", "$share/g/a", true},
		{"$share/g/#", "$share/h/a", false},
		{"$share/g/#", "a", false},
	}
	for _, tc := range tests {
		o, err := ParseFilter(tc.outer)
		if err != nil {
			t.Fatal(err)
		}
		in, err := ParseFilter(tc.inner)
		if err != nil {
			t.Fatal(err)
		}
		if got := Covers(o, in); got != tc.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tc.outer, tc.inner, got, tc.want)
		}
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"#", "a/b", true},
		{"#", "$SYS/x", false},
		{"a/#", "a", true},
		{"a/+/c", "a/b/c", true},
		{"a/+/c", "a/b/d", false},
		{"+", "", true},
		{"+", "/", false},
		{"$share/g/a/+", "a/b", true},
	}
	for _, tc := range tests {
		f, err := ParseFilter(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := Matches(f, tc.topic); got != tc.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tc.filter, tc.topic, got, tc.want)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"a", "a/b", "#", "+", "a/+/#", "/", "a//b", "$SYS/#", "$share/g/a/#", "$share/g",
		"", "a/#/b", "a#", "+a", "a\x00", "\xff", "$share//x", "$share/g+/a",
	} {
		f.Add(s, "a/b")
	}
	f.Fuzz(func(t *testing.T, s, topic string) {
		flt, err := ParseFilter(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidFilter) {
				t.Fatalf("ParseFilter(%q) = %v, not ErrInvalidFilter", s, err)
			}
			return
		}
		if flt.Raw != s {
			t.Fatalf("Raw = %q, want %q", flt.Raw, s)
		}
		inner := strings.Join(flt.Levels, "/")
		if flt.Shared() && s != mqtttopic.SharePrefix+flt.Group+"/"+inner || !flt.Shared() && inner != s {
			t.Fatalf("ParseFilter(%q) = %+v: levels do not rebuild the filter", s, flt)
		}
		if !Covers(flt, flt) {
			t.Fatalf("%q does not cover itself", s)
		}
		if root, _ := ParseFilter("#"); !flt.Shared() && !strings.HasPrefix(s, "$") && !Covers(root, flt) {
			t.Fatalf("# does not cover %q", s)
		}
		if ValidTopic(topic) == nil {
			tf, err := ParseFilter(topic)
			if err != nil {
				t.Fatalf("valid topic %q is not a valid filter: %v", topic, err)
			}
			if Matches(flt, topic) != Covers(Filter{Levels: flt.Levels}, tf) {
				t.Fatalf("Matches(%q, %q) disagrees with Covers", s, topic)
			}
		}
	})
}

func BenchmarkCovers(b *testing.B) {
	outer, _ := ParseFilter("sensors/+/temp/#")
	inner, _ := ParseFilter("sensors/kitchen/temp/celsius/+")
	b.ReportAllocs()
	for b.Loop() {
		if !Covers(outer, inner) {
			b.Fatal("no cover")
		}
	}
}

func BenchmarkParseFilter(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFilter("$share/group/sensors/+/temp/#"); err != nil {
			b.Fatal(err)
		}
	}
}
