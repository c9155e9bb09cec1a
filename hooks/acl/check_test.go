package acl

import (
	"strings"
	"testing"
)

func mustCompile(t testing.TB, sysRead string, lines ...string) *Rules {
	t.Helper()
	r, err := Compile(Config{Rules: lines, SysRead: sysRead})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type checkCase struct {
	user, client, topic string
	access              Access
	want                bool
}

func runChecks(t *testing.T, r *Rules, cases []checkCase) {
	t.Helper()
	for _, c := range cases {
		if got := r.Check(c.user, c.client, c.topic, c.access); got != c.want {
			t.Errorf("Check(user %q, client %q, %q, %s) = %v, want %v", c.user, c.client, c.topic, c.access, got, c.want)
		}
	}
}

const (
	R = AccessRead
	W = AccessWrite
	S = AccessSubscribe
)

func TestCheckDefaultDeny(t *testing.T) {
	r := mustCompile(t, SysReadRules)
	runChecks(t, r, []checkCase{
		{"", "c", "a", W, false}, {"", "c", "a", R, false}, {"", "c", "#", S, false},
		{"alice", "c", "a", W, false}, {"alice", "c", "$SYS/x", R, false},
	})
}

func TestCheckAccessBits(t *testing.T) {
	r := mustCompile(t, SysReadRules,
		"user u",
		"topic read r/#",
		"topic write w/#",
		"topic readwrite rw/#",
		"topic subscribe s/#",
		"topic rw2/#",
	)
	runChecks(t, r, []checkCase{
		{"u", "c", "r/x", R, true}, {"u", "c", "r/x", S, true}, {"u", "c", "r/x", W, false},
		{"u", "c", "w/x", R, false}, {"u", "c", "w/x", S, false}, {"u", "c", "w/x", W, true},
		{"u", "c", "rw/x", R, true}, {"u", "c", "rw/x", S, true}, {"u", "c", "rw/x", W, true},
		{"u", "c", "s/x", R, false}, {"u", "c", "s/x", S, true}, {"u", "c", "s/#", S, true}, {"u", "c", "s/x", W, false},
		{"u", "c", "rw2/x", R, true}, {"u", "c", "rw2/x", W, true},
	})
}

func TestCheckSubsumption(t *testing.T) {
	r := mustCompile(t, SysReadRules,
		"user u",
		"topic read a/b",
		"topic read p/+",
		"topic read h/#",
		"topic read +/mid/+",
		"topic read all/+/#",
	)
	runChecks(t, r, []checkCase{
		{"u", "c", "a/b", S, true},
		{"u", "c", "a/#", S, false}, // wildcard widening
		{"u", "c", "a/+", S, false},
		{"u", "c", "+/b", S, false},
		{"u", "c", "#", S, false},
		{"u", "c", "+", S, false},
		{"u", "c", "p/x", S, true},
		{"u", "c", "p/+", S, true},
		{"u", "c", "p/#", S, false},
		{"u", "c", "p/x/y", S, false},
		{"u", "c", "h", S, true},
		{"u", "c", "h/#", S, true},
		{"u", "c", "h/+/x/#", S, true},
		{"u", "c", "x/mid/y", S, true},
		{"u", "c", "+/mid/+", S, true},
		{"u", "c", "+/mid/#", S, false},
		{"u", "c", "$x/mid/y", S, false}, // '+' first level never matches '$'
		{"u", "c", "all/x", S, true},
		{"u", "c", "all/+", S, true},
		{"u", "c", "all/#", S, false}, // "all/#" reaches "all" itself
		{"u", "c", "a/b", R, true},
		{"u", "c", "a/c", R, false},
	})
}

func TestCheckDenyPrecedence(t *testing.T) {
	r := mustCompile(t, SysReadRules,
		"user u",
		"topic readwrite #",
		"topic deny secret/#",
		"topic deny +/private",
		"user v",
		"topic deny v/x", // deny first, allow after: order does not matter
		"topic readwrite v/#",
		"pattern deny global/no",
	)
	runChecks(t, r, []checkCase{
		{"u", "c", "public/x", W, true},
		{"u", "c", "secret", W, false}, // deny "secret/#" includes the parent
		{"u", "c", "secret/a", W, false},
		{"u", "c", "secret/a", R, false},
		{"u", "c", "secret/a", S, false},
		{"u", "c", "secret/#", S, false},
		{"u", "c", "#", S, false},        // overlaps the denials
		{"u", "c", "+/x", S, false},      // "secret/x" matches both
		{"u", "c", "+/+", S, false},      // overlaps "secret/a" and "a/private"
		{"u", "c", "public/+", S, false}, // "public/private"
		{"u", "c", "public/x/+", S, true},
		{"u", "c", "a/private", R, false},
		{"u", "c", "a/private/x", R, true},
		{"u", "c", "global/no", W, false}, // pattern deny applies to every user
		{"v", "c", "v/x", W, false},
		{"v", "c", "v/y", W, true},
		{"v", "c", "v/#", S, false},
		{"v", "c", "v/+/z", S, true},
		{"", "c", "global/no", R, false},
	})
}

func TestCheckDollarTopics(t *testing.T) {
	r := mustCompile(t, SysReadRules,
		"user u",
		"topic readwrite #",
		"topic readwrite +/+",
		"topic read $app/#",
		"topic write $SYS/#", // never effective: $SYS is read-only
		"topic readwrite $SHARE/#",
	)
	runChecks(t, r, []checkCase{
		{"u", "c", "$app/x", R, true},
		{"u", "c", "$app/x", W, false},
		{"u", "c", "$other/x", R, false}, // '#' does not match '$' topics
		{"u", "c", "$other/x", W, false},
		{"u", "c", "$SYS/x", W, false},
		{"u", "c", "$SYS", W, false},
		{"u", "c", "$sys/x", W, false}, // any letter case
		{"u", "c", "$SYS/x", R, false}, // sys_read rules: no read rule for $SYS
		{"u", "c", "$SYS/#", S, false},
		{"u", "c", "#", S, true},   // '#' never reaches $SYS
		{"u", "c", "+/x", S, true}, // nor does '+'
		{"u", "c", "$SHARE/g/x", W, true},
	})
}

func TestCheckSysRead(t *testing.T) {
	rules := []string{
		"user mon",
		"topic read $SYS/broker/#",
		"user u",
		"topic readwrite #",
		"user d",
		"topic deny $SYS/broker/secret",
	}
	for _, tc := range []struct {
		mode  string
		cases []checkCase
	}{
		{SysReadRules, []checkCase{
			{"mon", "c", "$SYS/broker/x", R, true},
			{"mon", "c", "$SYS/broker/#", S, true},
			{"mon", "c", "$SYS/#", S, false},
			{"mon", "c", "$SYS/other", R, false},
			{"u", "c", "$SYS/broker/x", R, false},
			{"u", "c", "$SYS/#", S, false},
			{"", "c", "$SYS/broker/x", R, false},
			{"mon", "c", "$SYS/broker/x", W, false},
		}},
		{SysReadNone, []checkCase{
			{"mon", "c", "$SYS/broker/x", R, false},
			{"mon", "c", "$SYS/broker/#", S, false},
			{"u", "c", "$SYS/#", S, false},
			{"mon", "c", "$share/g/$SYS/broker/#", S, false},
		}},
		{SysReadAnyone, []checkCase{
			{"u", "c", "$SYS/broker/x", R, true},
			{"u", "c", "$SYS/#", S, true},
			{"", "c", "$SYS/x", R, true},
			{"", "c", "$SYS/+/x", S, true},
			{"nobody", "c", "$SYS/x", R, true},
			{"d", "c", "$SYS/broker/secret", R, false}, // deny rules still win
			{"d", "c", "$SYS/#", S, false},
			{"d", "c", "$SYS/broker/other", R, true},
			{"u", "c", "$SYS/x", W, false},
			{"u", "c", "#", S, true},
			{"", "c", "#", S, false}, // anyone concerns $SYS only
		}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			runChecks(t, mustCompile(t, tc.mode, rules...), tc.cases)
		})
	}
}

func TestCheckSharedSubscriptions(t *testing.T) {
	r := mustCompile(t, SysReadRules,
		"user u",
		"topic read public/#",
		"topic read secret/x",
		"topic readwrite mixed/#",
		"topic deny mixed/secret/#",
		"user s",
		"topic read $SHARE/g/#",
		"topic read ok/#",
	)
	runChecks(t, r, []checkCase{
		{"u", "c", "$share/g/public/#", S, true},
		{"u", "c", "$share/g/public/a", S, true},
		{"u", "c", "$share/g/#", S, false},
		{"u", "c", "$share/g/secret/#", S, false},
		{"u", "c", "$share/g/mixed/#", S, false}, // the deny overlaps the inner filter
		{"u", "c", "$share/g/mixed/open/#", S, true},
		{"u", "c", "$share/g", S, false}, // malformed
		{"u", "c", "$share//public/a", S, false},
		{"u", "c", "$share/g/", S, false},
		{"u", "c", "$share/+/public/a", S, false},
		{"u", "c", "$share/g#/public/a", S, false},
		{"u", "c", "$share/g/public/#/x", S, false}, // invalid inner filter
		// "$SHARE" is not a shared subscription: the literal filter is judged
		// (nothing grants "$SHARE/...") ...
		{"u", "c", "$SHARE/g/secret/x", S, false},
		{"u", "c", "$SHARE/g/public/a", S, false},
		{"u", "c", "$Share/g/public/#", S, false},
		{"u", "c", "secret/x", S, true},
		// ... and since mochi treats it as a share of the inner filter, that
		// must pass too.
		{"s", "c", "$SHARE/g/ok/x", S, true},
		{"s", "c", "$SHARE/g/secret/x", S, false},
		{"s", "c", "$SHARE/g/#", S, false}, // mochi: a share of "#"
		{"s", "c", "$SHARE/g/", S, false},  // mochi: a malformed share
		{"s", "c", "$share/g/ok/x", S, true},
		{"s", "c", "$SHARE/g/ok/x", R, true}, // a delivery of that topic name
		// "$share/..." as a topic name is matched by nothing.
		{"u", "c", "$share/g/public/a", R, false},
		{"u", "c", "$share/g/public/a", W, false},
	})
}

func TestCheckPlaceholders(t *testing.T) {
	r := mustCompile(t, SysReadRules,
		"pattern readwrite users/%u/#",
		"pattern readwrite clients/%c/#",
		"pattern read %c/feed",
		"pattern deny users/%u/locked",
		"pattern deny jail/%c/x",
		"user alice",
		"topic read jail/#",
	)
	runChecks(t, r, []checkCase{
		{"alice", "c1", "users/alice/x", W, true},
		{"alice", "c1", "users/alice", W, true},
		{"alice", "c1", "users/alice/+/x", S, true},
		{"alice", "c1", "users/bob/x", W, false},
		{"alice", "c1", "users/+/x", S, false},
		{"alice", "c1", "users/#", S, false},
		{"alice", "c1", "users/alice/locked", W, false}, // pattern deny
		{"alice", "c1", "users/alice/#", S, false},      // overlaps the deny
		{"alice", "c1", "clients/c1/x", W, true},
		{"alice", "c1", "clients/c2/x", W, false},
		{"alice", "c1", "c1/feed", R, true},
		// anonymous clients never match %u
		{"", "c1", "users//x", W, false},
		{"", "c1", "users/+/x", S, false},
		{"", "c1", "clients/c1/x", W, true},
		// '+' or '#' in a value: the allow rule grants nothing
		{"+", "c1", "users/+/#", S, false},
		{"+", "c1", "users/x/y", R, false},
		{"#", "c1", "users/#", S, false},
		{"a#", "c1", "users/a#/x", S, false},
		{"alice", "#", "clients/#", S, false},
		{"alice", "+", "clients/+/x", S, false},
		{"alice", "+", "clients/x/x", R, false},
		{"alice", "c\x00", "clients/c\x00/x", W, false}, // NUL: not a topic, not a value
		{"alice", "c\\d", "clients/c\\d/x", W, true},    // a backslash is just a byte
		// '/' in a value never matches: neither way between "a" and "a/b"
		{"a", "c1", "users/a/b/x", W, true},    // user a's tree holds "users/a/b/x" ...
		{"a/b", "c1", "users/a/b/x", W, false}, // ... which is nobody else's
		{"a/b", "c1", "users/a/x", R, false},
		{"a/b", "c1", "users/a/#", S, false},
		{"a/b", "c1", "users/a/b/#", S, false},
		{"alice", "x/y", "clients/x/y/z", W, false},
		// a value starting a topic cannot start with '$'
		{"alice", "$SYS", "$SYS/feed", R, false},
		{"alice", "$x", "$x/feed", R, false},
		{"alice", "x$", "x$/feed", R, true},
		// a deny rule whose value is unusable fails closed: alice may read
		// jail/#, but a client id with '#' poisons "jail/%c/x" into "jail/..."
		{"alice", "ok", "jail/ok/y", R, true},
		{"alice", "ok", "jail/ok/x", R, false},
		{"alice", "ok", "jail/other/x", R, true},
		{"alice", "b#d", "jail/other/y", R, false},
		{"alice", "b#d", "jail/#", S, false},
		{"alice", "b#d", "users/alice/x", R, true}, // only the jail tree is poisoned
		{"alice", "a/b", "jail/z", R, false},
	})
}

func TestCheckInvalid(t *testing.T) {
	r := mustCompile(t, SysReadAnyone, "topic readwrite #", "topic read $SYS/#")
	runChecks(t, r, []checkCase{
		{"", "c", "", W, false},
		{"", "c", "", R, false},
		{"", "c", "", S, false},
		{"", "c", "a/+", W, false},
		{"", "c", "a/#", W, false},
		{"", "c", "a+", W, false},
		{"", "c", "a\\x00", W, true},
		{"", "c", "a\x00", W, false},
		{"", "c", "a/#/b", S, false},
		{"", "c", "a+", S, false},
		{"", "c", "a", Access(0), false},
		{"", "c", "a", AccessRead | AccessWrite, false},
	})
}

func TestCheckPolicies(t *testing.T) {
	im := func(user, _ string, topic string, access Access) (Verdict, bool) {
		if !strings.HasPrefix(topic, "im/") {
			return Deny, false
		}
		if access != AccessWrite && user != "" && strings.HasPrefix(topic, "im/u/"+user+"/") {
			return Allow, true
		}
		return Deny, true
	}
	r, err := Compile(Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap, Rules: []string{
		"topic readwrite #", "topic deny im/u/alice/secret", "topic read $SYS/#",
	}}, im)
	if err != nil {
		t.Fatal(err)
	}
	runChecks(t, r, []checkCase{
		{"", "c", "im/u/x/msg", R, false},            // the policy is final ...
		{"alice", "c", "im/u/alice/secret", R, true}, // ... even over a deny rule
		{"alice", "c", "im/u/alice/#", S, true},
		{"alice", "c", "$share/g/im/u/alice/#", S, true}, // sees the inner filter
		{"alice", "c", "im/u/bob/msg", R, false},
		{"alice", "c", "im/send/x", W, false},
		{"", "c", "other", W, true},   // undecided: the rules
		{"", "c", "$SYS/x", W, false}, // the $SYS policy comes first
	})
}

func TestCheckSubscribeDenyCover(t *testing.T) {
	rules := []string{
		"user u",
		"topic readwrite #",
		"topic deny secret/#",
		"topic deny +/private",
		"pattern deny jail/%c/x",
	}
	r, err := Compile(Config{Rules: rules, SysRead: SysReadRules, SubscribeDeny: SubscribeDenyCover})
	if err != nil {
		t.Fatal(err)
	}
	runChecks(t, r, []checkCase{
		// A filter the deny only overlaps is accepted ...
		{"u", "c", "#", S, true},
		{"u", "c", "+/+", S, true},
		{"u", "c", "+/x", S, true},
		{"u", "c", "$share/g/#", S, true},
		// ... one it covers is not ...
		{"u", "c", "secret/#", S, false},
		{"u", "c", "secret", S, false},
		{"u", "c", "secret/a/+", S, false},
		{"u", "c", "$share/g/secret/#", S, false},
		{"u", "c", "a/private", S, false},
		{"u", "c", "+/private", S, false},
		// ... and deliveries are filtered as in every mode.
		{"u", "c", "secret/a", R, false},
		{"u", "c", "a/private", R, false},
		{"u", "c", "public/a", R, true},
		// A poisoned deny (client id with '#') covers its whole prefix.
		{"u", "b#d", "jail/#", S, false},
		{"u", "b#d", "jail/x/y", S, false},
		{"u", "ok", "jail/#", S, true},
		{"u", "ok", "jail/ok/x", S, false},
	})
	// The same rules with the default mode refuse every overlapping filter.
	o := mustCompile(t, SysReadRules, rules...)
	runChecks(t, o, []checkCase{
		{"u", "c", "#", S, false}, {"u", "c", "+/+", S, false}, {"u", "c", "$share/g/#", S, false},
		{"u", "c", "public/x/#", S, true},
	})
}
