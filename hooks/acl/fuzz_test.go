package acl

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/imqtt/imqtt/internal/mqtttopic"
)

var fuzzRuleSeeds = []string{
	"",
	"topic read a/b",
	"# c\ntopic read public/#\nuser alice\ntopic readwrite sensors/#\ntopic deny sensors/secret/#\npattern read users/%u/#",
	"\uFEFFtopic write x\r\nuser b c\r\ntopic subscribe +/y/#\r\n",
	"pattern deny jail/%c/x\npattern readwrite %u%c/+\npattern read $SYS/%u",
	"topic a/b\ntopic deny a/#\ntopic readwrite #",
	"topic read a/#/b",
	"topic reed a",
	"user",
	"topic",
	"topic deny",
	"foo bar",
	"topic read $share/g/x",
	"topic read a+",
	"topic read #x",
	"topic read a\x00",
	"topic read \xff",
	"pattern read %",
	"pattern read %u/%c/%x/%",
}

// FuzzParseRules: the parser never panics, a file and the same lines given
// inline agree (result, rule count, error line), and whatever parses can be
// checked without panicking.
func FuzzParseRules(f *testing.F) {
	for _, s := range fuzzRuleSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		fb := newBuilder()
		ferr := fb.parseText("f", text)
		if ferr != nil && !errors.Is(ferr, ErrParse) {
			t.Fatalf("file error %v does not match ErrParse", ferr)
		}

		lines := strings.Split(strings.TrimPrefix(text, "\uFEFF"), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimSuffix(l, "\r")
			if strings.ContainsRune(lines[i], '\r') {
				return // a bare CR: one line in a file, refused inline
			}
		}
		ib := newBuilder()
		ierr := ib.parseInline(lines)
		if (ferr == nil) != (ierr == nil) {
			t.Fatalf("file err %v, inline err %v", ferr, ierr)
		}
		if ferr != nil {
			var fp, ip *ParseError
			if !errors.As(ferr, &fp) || !errors.As(ierr, &ip) {
				t.Fatalf("errors are not *ParseError: %T %T", ferr, ierr)
			}
			if want := "rules[" + strconv.Itoa(fp.Line-1) + "]"; ip.Source != want || fp.Msg != ip.Msg {
				t.Fatalf("file error %v, inline error %v", ferr, ierr)
			}
			return
		}
		if fb.r.n != ib.r.n {
			t.Fatalf("file has %d rules, inline %d", fb.r.n, ib.r.n)
		}
		r := fb.r
		r.sysRead = SysReadRules
		r.policies = builtinPolicies(SysReadRules, nil)
		for i, l := range lines {
			if i == 64 {
				break // keep each input cheap: checks cost O(rules)
			}
			_, rest := cutField(strings.TrimSpace(l))
			_, topic := cutField(rest)
			for _, s := range []string{rest, topic, topic + "/x", "$share/g/" + topic} {
				for _, a := range []Access{AccessRead, AccessWrite, AccessSubscribe} {
					ok := r.Check("alice", "c", s, a)
					if ok && a == AccessWrite && !validTopicName(s) {
						t.Fatalf("write to %q allowed", s)
					}
				}
			}
		}
	})
}

// FuzzCheck: random rules, identities and topics never panic; a topic with a
// wildcard is never allowed for write or read; $SYS is never writable; a read
// grant implies the literal subscription; a shared subscription is judged as its
// filter; an explicit deny of the topic wins.
func FuzzCheck(f *testing.F) {
	f.Add("topic readwrite #\ntopic read $SYS/#", "", "c", "a/b", uint8(0))
	f.Add("user u\ntopic read a/+\ntopic deny a/x", "u", "c", "a/+", uint8(1))
	f.Add("pattern readwrite users/%u/#\npattern deny users/%u/x", "a/b", "c", "users/a/b/x", uint8(2))
	f.Add("pattern readwrite clients/%c/#", "u", "#", "clients/#", uint8(0))
	f.Add("user u\ntopic subscribe x/#\ntopic read x/p/#", "u", "c", "$share/g/x/#", uint8(1))
	f.Add("topic read $SHARE/#\ntopic read +/#", "", "c", "$SHARE/g/a", uint8(2))
	f.Add("pattern read %c/feed", "u", "$SYS", "$SYS/feed", uint8(0))
	f.Add("topic readwrite #\ntopic deny test/nosubscribe", "", "c", "+/+", uint8(3))
	f.Fuzz(func(t *testing.T, text, user, client, topic string, mode uint8) {
		sysRead := []string{SysReadRules, SysReadAnyone, SysReadNone}[mode%3]
		denyMode := []string{SubscribeDenyOverlap, SubscribeDenyCover}[mode/3%2]
		lines := strings.Split(text, "\n")
		r, err := Compile(Config{Rules: lines, SysRead: sysRead, SubscribeDeny: denyMode})
		if err != nil {
			return
		}
		w := r.Check(user, client, topic, AccessWrite)
		rd := r.Check(user, client, topic, AccessRead)
		sub := r.Check(user, client, topic, AccessSubscribe)
		if (w || rd) && !validTopicName(topic) {
			t.Fatalf("topic %q allowed: write %v read %v", topic, w, rd)
		}
		if w && isSysLevel(firstLevel(topic)) {
			t.Fatalf("$SYS topic %q writable", topic)
		}
		if rd && !sub && !strings.HasPrefix(strings.ToLower(topic), "$share") {
			t.Fatalf("%q readable but not subscribable", topic)
		}
		if validFilter(topic) {
			shared := r.Check(user, client, "$share/g/"+topic, AccessSubscribe)
			if shared != sub && !strings.HasPrefix(topic, mqtttopic.SharePrefix) && !mqtttopic.IsShareCaseVariant(topic) {
				t.Fatalf("$share/g/%s = %v, %s = %v", topic, shared, topic, sub)
			}
		}
		// An explicit deny of the topic in the client's own section wins.
		if !utf8.ValidString(topic) || strings.ContainsAny(topic, "\n\r\x00") || topic != strings.TrimSpace(topic) ||
			!validFilter(topic) || firstLevel(topic) == "$share" {
			return
		}
		var denied []string
		switch {
		case user == "":
			denied = append([]string{"topic deny " + topic}, lines...)
		case utf8.ValidString(user) && !strings.ContainsAny(user, "\n\r\x00") && user == strings.TrimSpace(user):
			denied = append(append(lines[:len(lines):len(lines)], "user "+user), "topic deny "+topic)
		default:
			return
		}
		rd2, err := Compile(Config{Rules: denied, SysRead: sysRead, SubscribeDeny: denyMode})
		if err != nil {
			t.Fatalf("adding a deny line broke the rules: %v", err)
		}
		for _, a := range []Access{AccessRead, AccessWrite, AccessSubscribe} {
			if rd2.Check(user, client, topic, a) {
				t.Fatalf("%q allowed for %s despite `topic deny %s`", topic, a, topic)
			}
		}
	})
}

// FuzzMatchers checks the compiled matchers against the reference on random
// patterns, filters and topic names: matchTopic is exact, covers and overlaps
// are sound.
func FuzzMatchers(f *testing.F) {
	f.Add("a/+/#", "a/b/#", "a/b/c")
	f.Add("#", "+/x", "$SYS/x")
	f.Add("+/#", "#", "x")
	f.Add("/+/#", "/#", "/")
	f.Add("a/b", "a/+", "a/b")
	f.Fuzz(func(t *testing.T, pat, filter, topic string) {
		p, err := compilePattern(pat, false)
		if err != nil || !validFilter(filter) || !validTopicName(topic) {
			return
		}
		s := newSubject("u", "c")
		pm := refMatch(pat, topic)
		if got := p.matchTopic(topic, &s); got != pm {
			t.Fatalf("matchTopic(%q, %q) = %v, reference %v", pat, topic, got, pm)
		}
		fm := refMatch(filter, topic)
		if fm && !pm && p.covers(filter, &s) {
			t.Fatalf("covers(%q, %q) but %q matches only the filter", pat, filter, topic)
		}
		if fm && pm && !p.overlaps(filter, &s) {
			t.Fatalf("!overlaps(%q, %q) but both match %q", pat, filter, topic)
		}
	})
}
