package mqtttopic

import (
	"strings"
	"testing"
)

func TestExceedsLevels(t *testing.T) {
	tests := []struct {
		topic string
		max   int
		want  bool
	}{
		{"", 1, false},
		{"a", 1, false},
		{"a/b", 1, true},
		{"/", 1, true},
		{"/", 2, false},
		{"a/b/c", 3, false},
		{"a/b/c/", 3, true},
		{"a/b/c/d", 3, true},
		{strings.Repeat("/", 199), 200, false}, // 200 empty levels
		{strings.Repeat("/", 200), 200, true},
		{"im/u/dave" + strings.Repeat("/", 40000), 200, true},
	}
	for _, tt := range tests {
		if got := ExceedsLevels(tt.topic, tt.max); got != tt.want {
			t.Errorf("ExceedsLevels(%d bytes, %d levels: %q..., %d) = %v, want %v",
				len(tt.topic), strings.Count(tt.topic, "/")+1, tt.topic[:min(len(tt.topic), 12)], tt.max, got, tt.want)
		}
	}
}

// FuzzExceedsLevels checks the early-exit counter against the definition:
// levels are the '/'-separated parts, so strings.Count(topic, "/")+1.
func FuzzExceedsLevels(f *testing.F) {
	for _, s := range []string{"", "/", "a/b", "//", "a/+/#", "$share/g/a/b", "\xff/\x00", strings.Repeat("a/", 300)} {
		f.Add(s, 1)
		f.Add(s, 200)
	}
	f.Fuzz(func(t *testing.T, topic string, max int) {
		if max < 1 || max > 65536 {
			return
		}
		want := strings.Count(topic, "/")+1 > max
		if got := ExceedsLevels(topic, max); got != want {
			t.Fatalf("ExceedsLevels(%q, %d) = %v, want %v", topic, max, got, want)
		}
	})
}

// BenchmarkExceedsLevels: the check every PUBLISH topic and filter passes
// on both engine paths; a refused 1,000- or 40,000-level filter costs
// a scan up to the 201st separator.
func BenchmarkExceedsLevels(b *testing.B) {
	for _, tc := range []struct {
		name  string
		topic string
	}{
		{"ok-5-levels", "im/u/alice/msg/x"},
		{"refused-1000-levels", "im/u/dave" + strings.Repeat("/", 1000)},
		{"refused-40000-levels", "im/u/dave" + strings.Repeat("/", 40000)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ExceedsLevels(tc.topic, 200)
			}
		})
	}
}
