package admin

import (
	"strings"
	"testing"
)

func TestParseBearer(t *testing.T) {
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER abc", "abc", true},
		{"Bearer    abc", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer  ", "", false},
		{"Bearerabc", "", false},
		{"Basic YWxhZGRpbjpvcGVu", "", false},
		{"Bearer abc def", "", false},
		{"Bearer abc ", "", false},
		{"Bearer abc\tdef", "", false},
		{"", "", false},
		{"Bear abc", "", false},
		{"Bearer\tabc", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.header, func(t *testing.T) {
			got, ok := parseBearer(tc.header)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("parseBearer(%q) = %q, %v; want %q, %v", tc.header, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{
		"Bearer abc", "bearer 0123456789abcdef", "Bearer", "Bearer ", "Basic x",
		"Bearer a b", "", "bEaReR   tok", "Bearer \x00", "Bearer é",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, ok := parseBearer(header)
		if !ok {
			if tok != "" {
				t.Fatalf("parseBearer(%q) = %q with ok=false", header, tok)
			}
			return
		}
		if tok == "" || strings.ContainsAny(tok, " \t") {
			t.Fatalf("parseBearer(%q) = %q: empty or holds blanks", header, tok)
		}
		if !strings.EqualFold(header[:7], "bearer ") || !strings.HasSuffix(header, tok) {
			t.Fatalf("parseBearer(%q) = %q: not the header's bearer credentials", header, tok)
		}
		if again, ok := parseBearer("Bearer " + tok); !ok || again != tok {
			t.Fatalf("round trip of %q gave %q, %v", tok, again, ok)
		}
	})
}
