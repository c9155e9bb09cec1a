package mqtttopic

import (
	"errors"
	"strings"
	"testing"
)

func TestParseShared(t *testing.T) {
	cases := []struct {
		in           string
		anyCase      bool
		group, inner string
		ok           bool
		err          error
	}{
		{in: "a/b"},
		{in: ""},
		{in: "$share"},
		{in: "$sharex/g/a"},
		{in: "$SHARE/g/a"},
		{in: "$share/g/a", group: "g", inner: "a", ok: true},
		{in: "$share/g/a/+/#", group: "g", inner: "a/+/#", ok: true},
		{in: "$share/g//", group: "g", inner: "/", ok: true},
		{in: "$share/g/#", group: "g", inner: "#", ok: true},
		{in: "$share/", ok: true, err: ErrEmptyShareName},
		{in: "$share//a", ok: true, err: ErrEmptyShareName},
		{in: "$share/g", ok: true, err: ErrNoSharedFilter},
		{in: "$share/g/", ok: true, err: ErrNoSharedFilter},
		{in: "$share/g+/a", ok: true, err: ErrShareNameWildcard},
		{in: "$share/#", ok: true, err: ErrShareNameWildcard},
		{in: "$share/+/", ok: true, err: ErrShareNameWildcard},
		{in: "$SHARE/g/a", anyCase: true, group: "g", inner: "a", ok: true},
		{in: "$ShArE/g", anyCase: true, ok: true, err: ErrNoSharedFilter},
		{in: "$share/g/a", anyCase: true, group: "g", inner: "a", ok: true},
		{in: "$shar/g/a", anyCase: true},
		{in: "share/g/a", anyCase: true},
		{in: "$share/g#/a", ok: true, err: ErrShareNameWildcard},
	}
	for _, c := range cases {
		parse := ParseShared
		if c.anyCase {
			parse = ParseSharedAnyCase
		}
		g, in, ok, err := parse(c.in)
		if g != c.group || in != c.inner || ok != c.ok || !errors.Is(err, c.err) || (err == nil) != (c.err == nil) {
			t.Errorf("parse(%q, anyCase=%v) = %q, %q, %v, %v; want %q, %q, %v, %v",
				c.in, c.anyCase, g, in, ok, err, c.group, c.inner, c.ok, c.err)
		}
	}
}

func TestIsShareCaseVariant(t *testing.T) {
	cases := map[string]bool{
		"$SHARE/g/a": true, "$Share": true, "$sHaRe/x": true,
		"$share/g/a": false, "$share": false, "a/$SHARE": false, "": false, "$SHAR/g": false, "$shares/g/a": false,
	}
	for in, want := range cases {
		if got := IsShareCaseVariant(in); got != want {
			t.Errorf("IsShareCaseVariant(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseSharedAllocs(t *testing.T) {
	n := testing.AllocsPerRun(100, func() { _, _, _, _ = ParseShared("$share/group/a/b/#") })
	if n != 0 {
		t.Errorf("ParseShared allocates %.0f times", n)
	}
}

// FuzzParseShared checks ParseShared's invariants on any input: the results
// are consistent with each other, a well-formed share rebuilds the input, and
// the any-case form agrees with the case-sensitive one on its own prefix.
func FuzzParseShared(f *testing.F) {
	for _, s := range []string{"", "a/b", "$share/g/a", "$share/g/a/+/#", "$share/", "$share//a",
		"$share/g", "$share/g/", "$share/g+/a", "$SHARE/g/a", "$share/\x00/a", "$share/g/\xff", "$share/g//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, in, ok, err := ParseShared(s)
		switch {
		case !ok:
			if g != "" || in != "" || err != nil {
				t.Fatalf("%q: not shared but %q, %q, %v", s, g, in, err)
			}
			if strings.HasPrefix(s, SharePrefix) {
				t.Fatalf("%q: has the prefix but ok is false", s)
			}
		case err != nil:
			if g != "" || in != "" {
				t.Fatalf("%q: malformed (%v) but %q, %q", s, err, g, in)
			}
			if !errors.Is(err, ErrEmptyShareName) && !errors.Is(err, ErrShareNameWildcard) && !errors.Is(err, ErrNoSharedFilter) {
				t.Fatalf("%q: unknown error %v", s, err)
			}
		default:
			if SharePrefix+g+"/"+in != s {
				t.Fatalf("%q: %q + %q does not rebuild it", s, g, in)
			}
			if g == "" || in == "" || strings.ContainsAny(g, "/+#") {
				t.Fatalf("%q: bad parts %q, %q", s, g, in)
			}
		}
		g2, in2, ok2, err2 := ParseSharedAnyCase(s)
		if ok && (g2 != g || in2 != in || !ok2 || err2 != err) {
			t.Fatalf("%q: any-case parse %q, %q, %v, %v differs from %q, %q, %v, %v", s, g2, in2, ok2, err2, g, in, ok, err)
		}
		if ok2 && !ok && !IsShareCaseVariant(s) {
			t.Fatalf("%q: any-case share that is neither $share nor a case variant", s)
		}
	})
}
