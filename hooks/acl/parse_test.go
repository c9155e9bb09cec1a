package acl

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t testing.TB, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		line       int
		msg        string // substring of the message
	}{
		{"unknown keyword", "topic read a\nfoo bar", 2, `unknown keyword "foo"`},
		{"keyword case", "Topic read a", 1, `unknown keyword "Topic"`},
		{"bad access", "topic reed a/b", 1, `unknown access "reed"`},
		{"access case", "topic READ a/b", 1, `unknown access "READ"`},
		{"missing topic", "topic", 1, "missing topic"},
		{"access without topic", "topic deny", 1, "topic deny: missing topic"},
		{"pattern access without topic", "pattern read   ", 1, "pattern read: missing topic"},
		{"hash not last", "topic read a/#/b", 1, "'#' must be the last level"},
		{"plus inside level", "topic read a+", 1, "must be the whole level"},
		{"hash inside level", "topic read #x", 1, "must be the whole level"},
		{"hash after text", "pattern write users/%u#", 1, "must be the whole level"},
		{"user without name", "# c\n\nuser\t ", 3, "user: missing username"},
		{"share rule", "topic read $share/g/a", 1, "cannot start with $share"},
		{"share alone", "topic read $share", 1, "cannot start with $share"},
		{"nul", "topic read a\x00b", 1, "NUL"},
		{"not utf8", "topic read a\xff", 1, "UTF-8"},
		{"later line", "# ok\n\ntopic read a\nuser bob\ntopic write b\n  topic readwrite a/#/c  \n", 6, "'#' must be the last level"},
		{"crlf line", "topic read a\r\ntopic bogus a b\r\n", 2, `unknown access "bogus"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "acl.conf", tc.text)
			_, err := Compile(Config{File: path, SysRead: SysReadRules})
			if !errors.Is(err, ErrParse) {
				t.Fatalf("err = %v, want ErrParse", err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err %T is not a *ParseError", err)
			}
			if pe.Source != path || pe.Line != tc.line {
				t.Errorf("at %s:%d, want %s:%d", pe.Source, pe.Line, path, tc.line)
			}
			if !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("message %q does not contain %q", pe.Msg, tc.msg)
			}
			if want := path + ":"; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
		})
	}
}

func TestParseInlineErrors(t *testing.T) {
	_, err := Compile(Config{Rules: []string{"topic read a", "user bob", "topic read a/#/b"}, SysRead: SysReadRules})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Source != "rules[2]" || pe.Line != 0 {
		t.Fatalf("err = %v, want a ParseError at rules[2]", err)
	}
	if !strings.HasPrefix(err.Error(), "rules[2]: ") {
		t.Errorf("error %q", err)
	}
	_, err = Compile(Config{Rules: []string{"topic read a\ntopic read b"}, SysRead: SysReadRules})
	if !errors.Is(err, ErrParse) {
		t.Errorf("multi-line inline rule: err = %v, want ErrParse", err)
	}
}

func TestParseValid(t *testing.T) {
	text := "\uFEFF# comment\n" +
		"   # indented comment\n" +
		"\n" +
		"topic read public/#\r\n" +
		"topic\twrite\tpublic/anon\n" +
		"topic both/ways\n" + // access omitted: readwrite
		"pattern read users/%u/#\n" +
		"user alice\n" +
		"topic readwrite sensors/#\n" +
		"topic read a b/c d\n" + // inner spaces belong to the topic
		"topic read users/%u/x\n" + // %u literal in topic lines
		"user two words\n" +
		"topic read tw\n" +
		"user alice\n" + // sections for the same user add up
		"topic subscribe x/#\n" +
		"pattern write clients/%c/#\n"
	path := writeFile(t, t.TempDir(), "acl.conf", text)
	r, err := Compile(Config{File: path, SysRead: SysReadRules})
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 10 {
		t.Errorf("Len = %d, want 10", r.Len())
	}
	for _, tc := range []struct {
		user, client, topic string
		access              Access
		want                bool
	}{
		{"", "c", "public/x", AccessRead, true},
		{"", "c", "public/x", AccessSubscribe, true},
		{"", "c", "public/x", AccessWrite, false},
		{"", "c", "public/anon", AccessWrite, true},
		{"", "c", "both/ways", AccessWrite, true},
		{"", "c", "both/ways", AccessRead, true},
		{"alice", "c", "public/x", AccessRead, false}, // anonymous section only
		{"alice", "c", "sensors/t", AccessWrite, true},
		{"alice", "c", "a b/c d", AccessRead, true},
		{"alice", "c", "users/%u/x", AccessRead, true},
		{"alice", "c", "users/alice/x", AccessRead, true}, // from the pattern
		{"alice", "c", "x/y", AccessSubscribe, true},
		{"alice", "c", "x/y", AccessRead, false},
		{"two words", "c", "tw", AccessRead, true},
		{"bob", "c9", "clients/c9/x", AccessWrite, true}, // patterns apply anywhere
		{"", "c9", "clients/c9/x", AccessWrite, true},
		{"bob", "c9", "users/bob/q", AccessRead, true},
		{"bob", "c9", "sensors/t", AccessRead, false},
	} {
		if got := r.Check(tc.user, tc.client, tc.topic, tc.access); got != tc.want {
			t.Errorf("Check(%q, %q, %q, %s) = %v, want %v", tc.user, tc.client, tc.topic, tc.access, got, tc.want)
		}
	}
}

func TestInlineRulesAfterFile(t *testing.T) {
	path := writeFile(t, t.TempDir(), "acl.conf", "user alice\ntopic read f/a\n")
	r, err := Compile(Config{File: path, SysRead: SysReadRules, Rules: []string{
		"topic read anon/x", // anonymous again: not alice's
		"user alice",
		"topic write f/b",
	}})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		user, topic string
		access      Access
		want        bool
	}{
		{"alice", "f/a", AccessRead, true},
		{"alice", "f/b", AccessWrite, true},
		{"alice", "anon/x", AccessRead, false},
		{"", "anon/x", AccessRead, true},
	}
	for _, c := range checks {
		if got := r.Check(c.user, "c", c.topic, c.access); got != c.want {
			t.Errorf("Check(%q, %q, %s) = %v, want %v", c.user, c.topic, c.access, got, c.want)
		}
	}
}

func TestCompileMissingFile(t *testing.T) {
	_, err := Compile(Config{File: filepath.Join(t.TempDir(), "nope.conf"), SysRead: SysReadRules})
	if !errors.Is(err, ErrReadFile) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want ErrReadFile and fs.ErrNotExist", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	for _, tc := range []struct {
		cfg    Config
		prefix string
		parse  bool
	}{
		{Config{SysRead: ""}, `sys_read: ""`, false},
		{Config{SysRead: "all"}, `sys_read: "all"`, false},
		{Config{SysRead: "Rules"}, `sys_read: "Rules"`, false},
		{Config{SysRead: "rules"}, `subscribe_deny: ""`, false},
		{Config{SysRead: "rules", SubscribeDeny: "Cover"}, `subscribe_deny: "Cover"`, false},
		{Config{SysRead: "rules", SubscribeDeny: "overlap", File: "a\x00b"}, `file: "a\x00b"`, false},
		{Config{SysRead: "rules", SubscribeDeny: "overlap", Rules: []string{"topic read a", "topic reed b"}}, `rules[1]: topic: unknown access "reed"`, true},
		{Config{SysRead: "rules", SubscribeDeny: "overlap", Rules: []string{"user"}}, `rules[0]: user: missing username`, true},
	} {
		err := tc.cfg.Validate()
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: err = %v, want ErrInvalidConfig", tc.cfg, err)
			continue
		}
		if errors.Is(err, ErrParse) != tc.parse {
			t.Errorf("%+v: errors.Is(err, ErrParse) = %v", tc.cfg, !tc.parse)
		}
		if !strings.HasPrefix(err.Error(), tc.prefix) {
			t.Errorf("err %q does not start with %q", err, tc.prefix)
		}
	}
	for _, m := range []string{SysReadAnyone, SysReadRules, SysReadNone} {
		for _, d := range []string{SubscribeDenyOverlap, SubscribeDenyCover} {
			if err := (Config{SysRead: m, SubscribeDeny: d}).Validate(); err != nil {
				t.Errorf("sys_read %q, subscribe_deny %q: %v", m, d, err)
			}
		}
	}
}
