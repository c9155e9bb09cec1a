package im

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidName(t *testing.T) {
	cases := map[string]bool{
		"alice": true, "a": true, "A.b-c_d@e": true, "0123": true, strings.Repeat("x", 64): true,
		"": false, strings.Repeat("x", 65): false, "a/b": false, "a+b": false, "a#": false, "a:b": false,
		"a b": false, "é": false, "a\x00": false, "$sys": false,
	}
	for in, want := range cases {
		if got := ValidName(in); got != want {
			t.Errorf("ValidName(%q) = %v", in, got)
		}
	}
}

func TestParseConv(t *testing.T) {
	good := []string{"d:alice:bob", "d:a:a", "d:A:a", "g:123", "g:team-1"}
	for _, s := range good {
		c, err := ParseConv(s)
		if err != nil || c.String() != s {
			t.Errorf("ParseConv(%q) = %+v, %v", s, c, err)
		}
	}
	bad := []string{"", "d:", "d:alice", "d:bob:alice", "d:alice:bob:carol", "d::bob", "g:", "g:a/b", "x:a", "g:a:b", "d:al ice:bob", "dm:a:b"}
	for _, s := range bad {
		if c, err := ParseConv(s); !errors.Is(err, ErrBadTopic) {
			t.Errorf("ParseConv(%q) = %+v, %v", s, c, err)
		}
	}
	if c := DirectConv("bob", "alice"); c.String() != "d:alice:bob" || c.peer("alice") != "bob" || c.peer("bob") != "alice" {
		t.Errorf("DirectConv %+v", c)
	}
	if m := DirectConv("x", "x").directMembers(); len(m) != 1 {
		t.Errorf("self members %v", m)
	}
}

func TestParseUp(t *testing.T) {
	cases := []struct {
		topic string
		kind  upKind
		arg   string
	}{
		{"im/send/user/bob", upSendUser, "bob"},
		{"im/send/group/42", upSendGroup, "42"},
		{"im/receipt/d:a:b", upReceipt, "d:a:b"},
		{"im/typing/g:1", upTyping, "g:1"},
		{"im/rpc/group.create", upRPC, "group.create"},
		{"im/rpc/sync", upRPC, "sync"},
		{"im/send/user/bob/", 0, ""},
		{"im/send/user", 0, ""},
		{"im/send/team/x", 0, ""},
		{"im/receipt/d:b:a", 0, ""},
		{"im/receipt/", 0, ""},
		{"im/rpc/", upRPC, ""},
		{"im/rpc/group", upRPC, "group"},
		{"im/u/bob/msg", 0, ""},
		{"IM/send/user/bob", 0, ""},
		{"/im/send/user/bob", 0, ""},
		{"", 0, ""},
	}
	for _, c := range cases {
		u, err := parseUp(c.topic)
		ok := err == nil
		wantOK := c.kind != 0 && (c.kind != upRPC || methods[c.arg])
		if ok != wantOK || (ok && u.kind != c.kind) {
			t.Errorf("parseUp(%q) = %+v, %v", c.topic, u, err)
			continue
		}
		if !ok {
			if !errors.Is(err, ErrBadTopic) {
				t.Errorf("parseUp(%q): %v", c.topic, err)
			}
			continue
		}
		arg := u.name
		switch u.kind {
		case upReceipt, upTyping:
			arg = u.conv.String()
		case upRPC:
			arg = u.method
		}
		if arg != c.arg {
			t.Errorf("parseUp(%q) arg %q", c.topic, arg)
		}
	}
}

func TestIsIMTopic(t *testing.T) {
	cases := map[string]bool{
		"im": true, "im/": true, "im/u/a/msg": true, "im/#": true, "$share/g/im/u/a/#": true, "$share/g/im": true,
		"": false, "imx/a": false, "i": false, "#": false, "+/u/a": false, "$share/g": false, "$share/g/other": false, "$SYS/im": false,
	}
	for in, want := range cases {
		if got := IsIMTopic(in); got != want {
			t.Errorf("IsIMTopic(%q) = %v", in, got)
		}
	}
}

func TestInOwnTree(t *testing.T) {
	cases := []struct {
		user, topic string
		ok          bool
	}{
		{"alice", "im/u/alice/r", true},
		{"alice", "im/u/alice/rpc/1/2", true},
		{"alice", "im/u/alice/", false},
		{"alice", "im/u/alice", false},
		{"alice", "im/u/alicex/r", false},
		{"alice", "im/u/bob/r", false},
		{"alice", "im/u/alice/+", false},
		{"alice", "im/u/alice/#", false},
		{"alice", "other/alice", false},
		{"", "im/u//r", false},
	}
	for _, c := range cases {
		if got := inOwnTree(c.user, c.topic); got != c.ok {
			t.Errorf("inOwnTree(%q, %q) = %v", c.user, c.topic, got)
		}
	}
}

func TestIDs(t *testing.T) {
	g := newIDGen(5)
	now := time.UnixMilli(idEpochMs + 1000)
	seen := map[uint64]bool{}
	var last uint64
	// 10 000 ids in one millisecond: unique, increasing, borrowing the next ms.
	for i := 0; i < 10_000; i++ {
		id := g.next(now)
		if seen[id] || id <= last || IDNode(id) != 5 {
			t.Fatalf("id %d: %d (last %d, node %d)", i, id, last, IDNode(id))
		}
		seen[id], last = true, id
	}
	// The clock going back does not go back.
	if id := g.next(now.Add(-time.Hour)); id <= last {
		t.Fatalf("after clock step back: %d <= %d", id, last)
	}
	if got := IDTime(newIDGen(1).next(now)); !got.Equal(now) {
		t.Fatalf("IDTime %v, want %v", got, now)
	}
	if id := newIDGen(maxNodeID).next(time.UnixMilli(0)); id>>63 != 0 || IDNode(id) != maxNodeID {
		t.Fatalf("before the epoch: %x", id)
	}
}

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cases := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Admins = []string{"ok", "bad name"} }, `admins[1]: "bad name"`},
		{func(c *Config) { c.Admins = []string{"a", "a"} }, `admins[1]: "a": listed twice`},
		{func(c *Config) { c.MaxBodyBytes = 0 }, "max_body_bytes: 0"},
		{func(c *Config) { c.MaxBodyBytes = 2 << 20 }, "max_body_bytes: 2097152"},
		{func(c *Config) { c.MaxDevices = -1 }, "max_devices: -1"},
		{func(c *Config) { c.Presence = "friends" }, `presence: "friends"`},
		{func(c *Config) { c.DedupWindow = time.Millisecond }, "dedup_window: 1ms"},
		{func(c *Config) { c.HistoryMax = 0 }, "history_max: 0"},
		{func(c *Config) { c.SyncPageMax = 100000 }, "sync_page_max: 100000"},
		{func(c *Config) { c.GroupMaxMembers = 1 }, "group_max_members: 1"},
		{func(c *Config) { c.ApplyTimeout = 0 }, "apply_timeout: 0s"},
		{func(c *Config) { c.SweepInterval = time.Millisecond }, "sweep_interval: 1ms"},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.mod(&cfg)
		err := cfg.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Validate: %v, want prefix %q", err, c.want)
		}
	}
	cfg := DefaultConfig()
	cfg.SweepInterval = 0
	cfg.MaxDevices = 0
	if err := cfg.Validate(); err != nil {
		t.Fatalf("zero sweep and devices: %v", err)
	}
}

func TestNewOptions(t *testing.T) {
	cfg := DefaultConfig()
	if _, err := New(cfg, Options{}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("no options: %v", err)
	}
	cfg.Presence = "x"
	if _, err := New(cfg, Options{}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("bad config: %v", err)
	}
}
