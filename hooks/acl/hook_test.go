package acl

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/rs/zerolog"
)

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{SysRead: "maybe", SubscribeDeny: SubscribeDenyOverlap}, zerolog.Nop(), nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("bad sys_read: %v", err)
	}
	if _, err := New(Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap, Rules: []string{"topic read a/#/b"}}, zerolog.Nop(), nil); !errors.Is(err, ErrParse) {
		t.Errorf("bad inline rule: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "missing.conf")
	if _, err := New(Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap, File: missing}, zerolog.Nop(), nil); !errors.Is(err, ErrReadFile) {
		t.Errorf("missing file: %v", err)
	}
	path := writeFile(t, t.TempDir(), "acl.conf", "topic read a\nuser\n")
	_, err := New(Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap, File: path}, zerolog.Nop(), nil)
	if err == nil || !strings.HasPrefix(err.Error(), path+":2: ") {
		t.Errorf("bad file: %v, want %s:2: ...", err, path)
	}
}

func TestNewCopiesRules(t *testing.T) {
	rules := []string{"topic read a"}
	h, err := New(Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap, Rules: rules}, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rules[0] = "topic read b" // the caller's slice changes after New
	if err := h.Reload(); err != nil {
		t.Fatal(err)
	}
	if !h.Check("", "c", "a", AccessRead) || h.Check("", "c", "b", AccessRead) {
		t.Error("Reload used the caller's modified slice")
	}
}

func TestCanWriteWill(t *testing.T) {
	obs := &countObserver{}
	h, err := New(Config{SysRead: SysReadAnyone, SubscribeDeny: SubscribeDenyOverlap, Rules: []string{
		"user alice", "topic write status/alice", "topic write $SYS/x", "pattern write clients/%c/will",
	}}, zerolog.Nop(), obs)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, client, topic string
		want                bool
	}{
		{"alice", "c1", "status/alice", true},
		{"alice", "c1", "status/bob", false},
		{"alice", "c1", "$SYS/x", false},
		{"alice", "c1", "status/+", false},
		{"alice", "c1", "", false},
		{"", "c1", "clients/c1/will", true},
		{"", "#", "clients/#/will", false},
	} {
		if got := h.CanWriteWill(tc.user, tc.client, tc.topic); got != tc.want {
			t.Errorf("CanWriteWill(%q, %q, %q) = %v, want %v", tc.user, tc.client, tc.topic, got, tc.want)
		}
	}
	if n := obs.get("write"); n != 5 {
		t.Errorf("observer counted %d write denials, want 5", n)
	}
}

func TestDenialLog(t *testing.T) {
	var buf bytes.Buffer
	h, err := New(Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap, Rules: []string{"user u", "topic readwrite #", "topic deny s/#"}},
		zerolog.New(&buf).Level(zerolog.DebugLevel), nil)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	cl := &ext.Client{ID: "c1", Username: "u"}
	if h.Allow(cl, "s/x", ext.AccessPublish) {
		t.Fatal("s/x allowed")
	}
	var ev map[string]any
	if err := json.Unmarshal(buf.Bytes(), &ev); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	want := map[string]any{
		"level": "debug", "component": "acl", "message": "acl denied",
		"client_id": "c1", "user": "u", "topic": "s/x", "access": "write", "reason": "deny_rule",
	}
	for k, v := range want {
		if ev[k] != v {
			t.Errorf("log field %s = %v, want %v (%s)", k, ev[k], v, buf.String())
		}
	}
	if len(ev) != len(want) {
		t.Errorf("log event has fields %v, want exactly %v", ev, want)
	}

	// Not logged above debug.
	h2, err := New(DefaultConfig(), zerolog.New(&buf).Level(zerolog.InfoLevel), nil)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	h2.Allow(cl, "s/x", ext.AccessPublish)
	if buf.Len() != 0 {
		t.Errorf("denial logged at info level: %s", buf.String())
	}
}
