package wordfilter

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func writeList(t testing.TB, dir, content string) string {
	t.Helper()
	p := filepath.Join(dir, "words.txt")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newFilter(t testing.TB, mode, list string) *Filter {
	t.Helper()
	f, err := New(Config{Enabled: true, File: writeList(t, t.TempDir(), list), Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestMask(t *testing.T) {
	f := newFilter(t, ModeMask, "# comment\nbad\n\n  Worse Word  \nÄrger\nbadder\n")
	tests := []struct{ in, want string }{
		{"", ""},
		{"all fine", "all fine"},
		{"bad", "***"},
		{"a BAD day", "a *** day"},
		{"worse word!", "**********!"},
		{"badder", "******"},
		{"so much ärger here", "so much ***** here"},
		{"ÄRGER über bad", "***** über ***"},
		{"日本 bad 日本", "日本 *** 日本"},
	}
	for _, tt := range tests {
		got, rej := f.Filter(tt.in)
		if got != tt.want || rej {
			t.Errorf("Filter(%q) = %q, %v; want %q", tt.in, got, rej, tt.want)
		}
	}
	if f.Words() != 4 {
		t.Fatalf("Words() = %d, want 4", f.Words())
	}
}

func TestReject(t *testing.T) {
	f := newFilter(t, ModeReject, "bad\n")
	if out, rej := f.Filter("this is Bad"); !rej || out != "this is Bad" {
		t.Fatalf("reject: %q %v", out, rej)
	}
	if _, rej := f.Filter("fine"); rej {
		t.Fatal("clean text rejected")
	}
}

func TestReloadKeepsOldListOnError(t *testing.T) {
	dir := t.TempDir()
	p := writeList(t, dir, "bad\n")
	f, err := New(Config{Enabled: true, File: p, Mode: ModeMask})
	if err != nil {
		t.Fatal(err)
	}
	if changed, n, err := f.Reload(); changed || n != 1 || err != nil {
		t.Fatalf("reload unchanged: %v %d %v", changed, n, err)
	}
	writeList(t, dir, "bad\nugly\n")
	if changed, n, err := f.Reload(); !changed || n != 2 || err != nil {
		t.Fatalf("reload: %v %d %v", changed, n, err)
	}
	if out, _ := f.Filter("ugly"); out != "****" {
		t.Fatalf("after reload: %q", out)
	}
	if err := os.WriteFile(p, []byte{0xff, 0xfe, '\n'}, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, n, err := f.Reload(); !errors.Is(err, ErrWordList) || n != 2 {
		t.Fatalf("bad file: %d %v", n, err)
	}
	os.Remove(p)
	if _, _, err := f.Reload(); !errors.Is(err, ErrWordList) {
		t.Fatalf("missing file: %v", err)
	}
	if out, _ := f.Filter("ugly bad"); out != "**** ***" {
		t.Fatalf("old list lost: %q", out)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{Mode: "drop"}, {Enabled: true, Mode: ModeMask}} {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Enabled: true, File: "/nonexistent/words", Mode: ModeMask}); !errors.Is(err, ErrWordList) {
		t.Fatalf("missing file: %v", err)
	}
	long := strings.Repeat("x", maxWordLen+1)
	if _, err := parseList([]byte(long)); !errors.Is(err, ErrWordList) {
		t.Fatalf("long entry: %v", err)
	}
}

func FuzzFilter(f *testing.F) {
	for _, s := range []string{"", "bad", "BAD bad", "ärger", "İstanbul bad", "\xff\xfe bad", "日本"} {
		f.Add(s)
	}
	flt := newFilter(f, ModeMask, "bad\nÄrger\nist\nx\n")
	f.Fuzz(func(t *testing.T, s string) {
		out, rej := flt.Filter(s)
		if rej {
			t.Fatal("mask mode rejected")
		}
		if utf8.RuneCountInString(out) != utf8.RuneCountInString(s) && utf8.ValidString(s) {
			t.Fatalf("rune count changed: %q -> %q", s, out)
		}
	})
}

func FuzzParseList(f *testing.F) {
	for _, s := range []string{"", "a\nb\n", "# c\n\n x \n", "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		words, err := parseList(data)
		if err != nil {
			return
		}
		for _, w := range words {
			if w == "" || strings.HasPrefix(w, "#") {
				t.Fatalf("bad entry %q", w)
			}
		}
	})
}

func BenchmarkFilterClean(b *testing.B) {
	var list strings.Builder
	for i := range 1000 {
		list.WriteString("word")
		list.WriteString(strings.Repeat(string(rune('a'+i%26)), 1+i%7))
		list.WriteString("zq\n")
	}
	f := newFilter(b, ModeMask, list.String())
	msg := strings.Repeat("hello there, this is a normal chat message. ", 5)[:200]
	b.ReportAllocs()
	for b.Loop() {
		if out, _ := f.Filter(msg); out != msg {
			b.Fatal("changed")
		}
	}
}
