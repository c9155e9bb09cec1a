package acl

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

func TestHookProvidesExactly(t *testing.T) {
	h, err := New(DefaultConfig(), zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[byte]bool{mqtt.OnACLCheck: true, mqtt.OnSubscribe: true, mqtt.OnSubscribed: true, mqtt.OnDisconnect: true}
	for b := 0; b < 256; b++ {
		if got := h.Provides(byte(b)); got != want[byte(b)] {
			t.Errorf("Provides(%d) = %v, want %v", b, got, want[byte(b)])
		}
	}
	if h.Provides(mqtt.OnConnectAuthenticate) {
		t.Error("the ACL hook must not decide authentication")
	}
	if h.ID() == "" {
		t.Error("empty ID")
	}
}

func TestHookLifecycle(t *testing.T) {
	h, err := New(Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap, Rules: []string{"topic read a"}}, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Init(nil); err != nil {
		t.Errorf("Init(nil) = %v", err)
	}
	if err := h.Init(map[string]any{"x": 1}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Init(config) = %v, want ErrInvalidConfig", err)
	}
	cl := &mqtt.Client{ID: "c"}
	h.OnSubscribe(cl, packets.Packet{Filters: packets.Subscriptions{{Filter: "a"}, {Filter: "b/#"}}})
	if h.pending.len() != 1 {
		t.Fatalf("OnSubscribe left %d records, want 1", h.pending.len())
	}
	h.OnDisconnect(cl, nil, true)
	if h.pending.len() != 0 {
		t.Fatal("OnDisconnect did not drop the record")
	}
	h.OnSubscribe(cl, packets.Packet{Filters: packets.Subscriptions{{Filter: "a"}}})
	h.OnSubscribed(cl, packets.Packet{}, nil)
	if h.pending.len() != 0 {
		t.Fatal("OnSubscribed did not drop the record")
	}
	inline := &mqtt.Client{ID: "inline"}
	inline.Net.Inline = true
	h.OnSubscribe(inline, packets.Packet{Filters: packets.Subscriptions{{Filter: "a"}}})
	if h.pending.len() != 0 {
		t.Fatal("OnSubscribe recorded the inline client")
	}
	h.OnSubscribe(cl, packets.Packet{Filters: packets.Subscriptions{{Filter: "a"}}})
	for i := 0; i < 2; i++ {
		if err := h.Stop(); err != nil {
			t.Fatalf("Stop #%d: %v", i+1, err)
		}
	}
	if h.pending.len() != 0 {
		t.Fatal("Stop did not drop the records")
	}
	if !h.Check("", "c", "a", AccessRead) {
		t.Error("the hook stopped answering after Stop")
	}
}

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
	cl := &mqtt.Client{ID: "c1"}
	cl.Properties.Username = []byte("u")
	if h.OnACLCheck(cl, "s/x", true) {
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
	h2.OnACLCheck(cl, "s/x", true)
	if buf.Len() != 0 {
		t.Errorf("denial logged at info level: %s", buf.String())
	}
}

func TestOnACLCheckKinds(t *testing.T) {
	h, err := New(Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap, Rules: []string{
		"user u", "topic subscribe x/#", "topic read x/pub/#",
	}}, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cl := &mqtt.Client{ID: "c1"}
	cl.Properties.Username = []byte("u")
	// Wildcards and $share/ are subscriptions.
	if !h.OnACLCheck(cl, "x/#", false) || !h.OnACLCheck(cl, "$share/g/x/+", false) {
		t.Error("wildcard / shared subscription not judged as a subscription")
	}
	// A literal without a record is a delivery: no read right.
	if h.OnACLCheck(cl, "x/lit", false) {
		t.Error("literal x/lit judged as a subscription without a SUBSCRIBE record")
	}
	// With the record, the very string mochi passes is a subscription; an
	// equal string from elsewhere is still a delivery.
	filter := strings.Clone("x/lit")
	h.OnSubscribe(cl, packets.Packet{Filters: packets.Subscriptions{{Filter: filter}}})
	if h.OnACLCheck(cl, strings.Clone("x/lit"), false) {
		t.Error("a delivery of x/lit judged as the pending subscription")
	}
	if !h.OnACLCheck(cl, filter, false) {
		t.Error("the SUBSCRIBE filter x/lit was not judged as a subscription")
	}
	h.OnSubscribed(cl, packets.Packet{}, nil)
	if !h.OnACLCheck(cl, "x/pub/a", false) {
		t.Error("delivery of x/pub/a refused")
	}
}
