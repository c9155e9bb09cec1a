package acl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	codeGranted1     = 0x01 // SUBACK: granted QoS 1
	codeNotAuth      = 0x87 // MQTT 5 Not authorized
	codeV3SubFailure = 0x80 // MQTT 3.1.1 SUBACK failure
)

// e2eRules is the ACL of the main end-to-end broker.
var e2eRules = []string{
	"# anonymous clients",
	"topic read public/#",
	"topic write public/anon",
	"",
	"user spy", // reads everything: the witness of deliveries
	"topic read #",
	"topic read $SYS/#",
	"topic write canary/spy",
	"",
	"user alice",
	"topic readwrite sensors/#",
	"topic deny sensors/secret/#",
	"topic read a/b",
	"topic subscribe x/#",
	"topic read x/public/#",
	"topic write $SYS/hack",
	"topic write canary/alice",
	"",
	"user bob",
	"topic readwrite #",
	"topic deny secret/#",
	"",
	"user carol",
	"topic read secret/x",
	"",
	"pattern readwrite users/%u/#",
	"pattern readwrite clients/%c/#",
}

// denyCase is one attempt to get past the ACL. It returns a non-nil error
// describing the bypass if the attempt succeeded.
type denyCase struct {
	name string
	run  func(t *testing.T, b *testBroker) error
}

func expectSubDenied(t *testing.T, c *client5, filter string) error {
	t.Helper()
	if code := c.subscribe(t, filter); code != codeNotAuth {
		return fmt.Errorf("%s subscribed to %q: SUBACK 0x%02x, want 0x87", c.name, filter, code)
	}
	return nil
}

// expectPubDenied publishes a denied QoS 1 message (PUBACK 0x87) and proves the
// witness received nothing: the publisher's next, allowed publish (canary)
// arrives at the witness, and per-publisher order means a delivered denied
// message would have arrived first.
func expectPubDenied(t *testing.T, pub, witness *client5, topic string, qos byte, canary string) error {
	t.Helper()
	code := pub.publish(t, topic, qos, false)
	if qos > 0 && code != codeNotAuth {
		return fmt.Errorf("%s published %q QoS %d: reason 0x%02x, want 0x87", pub.name, topic, qos, code)
	}
	if code := pub.publish(t, canary, 1, false); code >= 0x80 {
		t.Fatalf("%s canary %q refused: 0x%02x", pub.name, canary, code)
	}
	witness.in.wait(t, witness.name, canary)
	if witness.in.has(topic) {
		return fmt.Errorf("%s received %q published by %s", witness.name, topic, pub.name)
	}
	return nil
}

func TestEndToEndDenials(t *testing.T) {
	b := newTestBroker(t, Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap, Rules: e2eRules})
	spy := connect5(t, b.addr, "spy-1", "spy")
	if code := spy.subscribe(t, "#"); code != codeGranted1 {
		t.Fatalf("spy subscribe #: 0x%02x", code)
	}
	alice := connect5(t, b.addr, "alice-1", "alice")
	bob := connect5(t, b.addr, "bob-1", "bob")
	carol := connect5(t, b.addr, "carol-1", "carol")

	cases := []denyCase{
		{"publish outside the ACL, QoS 1 -> PUBACK 0x87", func(t *testing.T, b *testBroker) error {
			return expectPubDenied(t, alice, spy, "other/q1", 1, "canary/alice")
		}},
		{"publish outside the ACL, QoS 0 -> not delivered", func(t *testing.T, b *testBroker) error {
			return expectPubDenied(t, alice, spy, "other/q0", 0, "canary/alice")
		}},
		{"publish outside the ACL, QoS 2 -> PUBREC 0x87", func(t *testing.T, b *testBroker) error {
			return expectPubDenied(t, alice, spy, "other/q2", 2, "canary/alice")
		}},
		{"subscribe outside the ACL", func(t *testing.T, b *testBroker) error {
			return expectSubDenied(t, alice, "other/#")
		}},
		{"widening a/b to a/#", func(t *testing.T, b *testBroker) error {
			return expectSubDenied(t, alice, "a/#")
		}},
		{"widening a/b to a/+", func(t *testing.T, b *testBroker) error {
			return expectSubDenied(t, alice, "a/+")
		}},
		{"widening a/b to +/b", func(t *testing.T, b *testBroker) error {
			return expectSubDenied(t, alice, "+/b")
		}},
		{"widening a/b to #", func(t *testing.T, b *testBroker) error {
			return expectSubDenied(t, alice, "#")
		}},
		{"subscribe overlapping an explicit deny (sensors/#)", func(t *testing.T, b *testBroker) error {
			return expectSubDenied(t, alice, "sensors/#")
		}},
		{"subscribe inside an explicit deny", func(t *testing.T, b *testBroker) error {
			return expectSubDenied(t, alice, "sensors/secret/a")
		}},
		{"publish inside an explicit deny", func(t *testing.T, b *testBroker) error {
			return expectPubDenied(t, alice, spy, "sensors/secret/a", 1, "canary/alice")
		}},
		{"explicit deny wins over readwrite # (publish)", func(t *testing.T, b *testBroker) error {
			return expectPubDenied(t, bob, spy, "secret/a", 1, "bob/canary")
		}},
		{"explicit deny wins over readwrite # (subscribe)", func(t *testing.T, b *testBroker) error {
			return expectSubDenied(t, bob, "secret/#")
		}},
		{"$share/g/secret/# denied when secret/# is", func(t *testing.T, b *testBroker) error {
			return expectSubDenied(t, bob, "$share/g/secret/#")
		}},
		{"$share/g/# overlaps the deny", func(t *testing.T, b *testBroker) error {
			return expectSubDenied(t, bob, "$share/g/#")
		}},
		{"$SHARE/g/secret/x is not a shared subscription", func(t *testing.T, b *testBroker) error {
			return expectSubDenied(t, carol, "$SHARE/g/secret/x")
		}},
		{"%u with a username containing +", func(t *testing.T, b *testBroker) error {
			plus := connect5(t, b.addr, "plus-1", "+")
			if err := expectSubDenied(t, plus, "users/+/#"); err != nil {
				return err
			}
			return expectSubDenied(t, plus, "users/alice/inbox")
		}},
		{"%u with a username containing #", func(t *testing.T, b *testBroker) error {
			hash := connect5(t, b.addr, "hash-1", "#")
			return expectSubDenied(t, hash, "users/#")
		}},
		{"%u with user a/b does not reach user a's tree", func(t *testing.T, b *testBroker) error {
			ab := connect5(t, b.addr, "ab-1", "a/b")
			for _, f := range []string{"users/a/#", "users/a/b/#", "users/a/x"} {
				if err := expectSubDenied(t, ab, f); err != nil {
					return err
				}
			}
			return expectPubDenied(t, ab, spy, "users/a/x", 1, "clients/ab-1/canary")
		}},
		{"%c with a client id containing #", func(t *testing.T, b *testBroker) error {
			c := connect5(t, b.addr, "#", "nobody")
			return expectSubDenied(t, c, "clients/#")
		}},
		{"%c with a client id containing +", func(t *testing.T, b *testBroker) error {
			c := connect5(t, b.addr, "+", "nobody")
			return expectSubDenied(t, c, "clients/+/x")
		}},
		{"anonymous client and a %u pattern", func(t *testing.T, b *testBroker) error {
			anon := connect5(t, b.addr, "anon-1", "")
			if err := expectSubDenied(t, anon, "users/+/#"); err != nil {
				return err
			}
			return expectPubDenied(t, anon, spy, "users//x", 1, "public/anon")
		}},
		{"anonymous client writes outside its section", func(t *testing.T, b *testBroker) error {
			anon := connect5(t, b.addr, "anon-2", "")
			return expectPubDenied(t, anon, spy, "public/x", 1, "public/anon")
		}},
		{"$SYS write denied whatever the rules", func(t *testing.T, b *testBroker) error {
			if b.hook.CanWriteWill("alice", "alice-1", "$SYS/hack") || b.hook.Check("alice", "alice-1", "$SYS/hack", AccessWrite) {
				return errors.New("the ACL allows alice to write $SYS/hack")
			}
			// mochi drops $SYS publishes before the ACL (no PUBACK): QoS 0 + canary,
			// with the spy subscribed to $SYS too.
			if code := spy.subscribe(t, "$SYS/hack"); code != codeGranted1 {
				t.Fatalf("spy subscribe $SYS/hack: 0x%02x", code)
			}
			return expectPubDenied(t, alice, spy, "$SYS/hack", 0, "canary/alice")
		}},
		{"$SYS read denied without a rule (sys_read rules)", func(t *testing.T, b *testBroker) error {
			return expectSubDenied(t, bob, "$SYS/#")
		}},
		{"retained message on an unreadable topic not delivered", func(t *testing.T, b *testBroker) error {
			for _, topic := range []string{"x/secret", "x/public/a"} {
				if code := bob.publish(t, topic, 1, true); code >= 0x80 {
					t.Fatalf("bob retained %q: 0x%02x", topic, code)
				}
			}
			sub := connect5(t, b.addr, "alice-2", "alice")
			if code := sub.subscribe(t, "x/#"); code != codeGranted1 {
				t.Fatalf("alice may subscribe x/# (subscribe bit): SUBACK 0x%02x", code)
			}
			sub.in.wait(t, sub.name, "x/public/a")
			// Live messages too: x/secret then a canary from the same publisher.
			if code := bob.publish(t, "x/secret", 1, false); code >= 0x80 {
				t.Fatalf("bob x/secret: 0x%02x", code)
			}
			if code := bob.publish(t, "x/public/canary", 1, false); code >= 0x80 {
				t.Fatalf("bob canary: 0x%02x", code)
			}
			sub.in.wait(t, sub.name, "x/public/canary")
			if sub.in.has("x/secret") {
				return errors.New("alice received x/secret")
			}
			return nil
		}},
		{"subscribe-only literal filter accepted, nothing delivered", func(t *testing.T, b *testBroker) error {
			sub := connect5(t, b.addr, "alice-3", "alice")
			if code := sub.subscribe(t, "x/lit"); code != codeGranted1 {
				t.Fatalf("alice may subscribe x/lit (subscribe bit): SUBACK 0x%02x", code)
			}
			if code := sub.subscribe(t, "x/public/c"); code != codeGranted1 {
				t.Fatalf("alice subscribe x/public/c: SUBACK 0x%02x", code)
			}
			bob.publish(t, "x/lit", 1, false)
			bob.publish(t, "x/public/c", 1, false)
			sub.in.wait(t, sub.name, "x/public/c")
			if sub.in.has("x/lit") {
				return errors.New("alice received x/lit")
			}
			return nil
		}},
		{"one SUBSCRIBE with allowed and denied filters", func(t *testing.T, b *testBroker) error {
			codes := alice.subscribeMany(t, "a/b", "a/#", "sensors/t", "sensors/secret/z", "x/q", "$share/g/a/b", "$share/g/a/#")
			want := []byte{codeGranted1, codeNotAuth, codeGranted1, codeNotAuth, codeGranted1, codeGranted1, codeNotAuth}
			if string(codes) != string(want) {
				return fmt.Errorf("SUBACK % x, want % x", codes, want)
			}
			return nil
		}},
	}

	denials := 0
	for _, dc := range cases {
		t.Run(dc.name, func(t *testing.T) {
			if err := dc.run(t, b); err != nil {
				t.Errorf("BYPASS: %v", err)
				return
			}
			denials++
		})
	}
	if len(cases) < 20 {
		t.Errorf("only %d deny cases", len(cases))
	}
	t.Logf("%d deny cases, %d held, %d bypasses", len(cases), denials, len(cases)-denials)

	// Positive controls: the rules do grant what they say.
	if code := alice.subscribe(t, "a/b"); code != codeGranted1 {
		t.Errorf("alice subscribe a/b: 0x%02x", code)
	}
	if code := carol.subscribe(t, "secret/x"); code != codeGranted1 {
		t.Errorf("carol subscribe secret/x: 0x%02x", code)
	}
	if code := bob.subscribe(t, "$share/g/public/#"); code != codeGranted1 {
		t.Errorf("bob subscribe $share/g/public/#: 0x%02x", code)
	}
	if code := alice.subscribe(t, "users/alice/#"); code != codeGranted1 {
		t.Errorf("alice subscribe users/alice/#: 0x%02x", code)
	}
	if code := alice.publish(t, "sensors/t", 1, false); code != 0 {
		t.Errorf("alice publish sensors/t: 0x%02x", code)
	}
	spy.in.wait(t, spy.name, "sensors/t")
	for _, kind := range []string{"read", "write", "subscribe"} {
		if b.obs.get(kind) == 0 {
			t.Errorf("observer saw no %s denial", kind)
		}
	}
}

func TestEndToEndV3(t *testing.T) {
	b := newTestBroker(t, Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap, Rules: e2eRules})
	spy := connect5(t, b.addr, "spy-1", "spy")
	if code := spy.subscribe(t, "#"); code != codeGranted1 {
		t.Fatalf("spy subscribe #: 0x%02x", code)
	}
	alice := connect3(t, b.addr, "alice-v3", "alice")
	for _, f := range []string{"other/#", "a/#", "a/+", "#", "sensors/#", "$share/g/sensors/secret/#", "$SYS/#"} {
		if code := alice.subscribe(t, f); code != codeV3SubFailure {
			t.Errorf("v3 alice subscribe %q: return code 0x%02x, want 0x80", f, code)
		}
	}
	if code := alice.subscribe(t, "a/b"); code != 0x01 {
		t.Errorf("v3 alice subscribe a/b: 0x%02x", code)
	}
	// A v3 client cannot be told "not authorized" in a PUBACK: the engine
	// acknowledges positively, which [MQTT-3.3.5-2] allows. The message must
	// not be delivered.
	if tok := alice.c.Publish("other/v3", 1, false, "p"); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("v3 publish not acknowledged: %v", tok.Error())
	}
	bob := connect5(t, b.addr, "bob-1", "bob")
	bob.publish(t, "bob/canary", 1, false)
	spy.in.wait(t, spy.name, "bob/canary")
	if spy.in.has("other/v3") {
		t.Error("BYPASS: spy received other/v3")
	}
}

func TestEndToEndSysRead(t *testing.T) {
	rules := []string{"user mon", "topic read $SYS/broker/#", "user u", "topic readwrite #"}
	for _, tc := range []struct {
		mode            string
		monOK, anyoneOK bool
	}{
		{SysReadRules, true, false},
		{SysReadNone, false, false},
		{SysReadAnyone, true, true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			b := newTestBroker(t, Config{SysRead: tc.mode, SubscribeDeny: SubscribeDenyOverlap, Rules: rules})
			for _, who := range []struct {
				user string
				ok   bool
			}{{"mon", tc.monOK}, {"u", tc.anyoneOK}, {"", tc.anyoneOK}} {
				c := connect5(t, b.addr, "c-"+who.user, who.user)
				code := c.subscribe(t, "$SYS/broker/version")
				if who.ok != (code == codeGranted1) {
					t.Errorf("user %q subscribe $SYS/broker/version: 0x%02x, allowed want %v", who.user, code, who.ok)
				}
				if who.ok {
					c.in.wait(t, c.name, "$SYS/broker/version") // mochi retains $SYS topics
				}
				// Always refused, even to those who may read: $SYS is read-only.
				if b.hook.Check(who.user, c.name, "$SYS/broker/version", AccessWrite) {
					t.Errorf("user %q may write $SYS", who.user)
				}
			}
			// A subscription granted before a denial cannot be used to read: the
			// wildcard "#" never reaches $SYS.
			u := connect5(t, b.addr, "u-2", "u")
			if code := u.subscribe(t, "#"); code != codeGranted1 {
				t.Fatalf("u subscribe #: 0x%02x", code)
			}
			u.publish(t, "u/canary", 1, false)
			u.in.wait(t, u.name, "u/canary")
			for _, topic := range u.in.snapshot() {
				if strings.HasPrefix(topic, "$") {
					t.Errorf("u received %q through #", topic)
				}
			}
		})
	}
}

func TestEndToEndReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "acl.conf")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("user alice\ntopic readwrite old/#\n")
	b := newTestBroker(t, Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap, File: path})
	alice := connect5(t, b.addr, "alice-1", "alice")
	if code := alice.subscribe(t, "old/#"); code != codeGranted1 {
		t.Fatalf("old/#: 0x%02x", code)
	}

	write("user alice\ntopic readwrite new/#\ntopic reed old/#\n")
	err := b.hook.Reload()
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, ErrParse) || pe.Source != path || pe.Line != 3 {
		t.Fatalf("Reload of a broken file: %v, want a ParseError at %s:3", err, path)
	}
	// The old rules stay in force.
	if code := alice.publish(t, "old/x", 1, false); code != 0 {
		t.Errorf("after a failed reload, old/x: 0x%02x, want 0", code)
	}
	alice.in.wait(t, alice.name, "old/x")
	if code := alice.publish(t, "new/x", 1, false); code != codeNotAuth {
		t.Errorf("after a failed reload, new/x: 0x%02x, want 0x87", code)
	}
	if code := alice.subscribe(t, "new/#"); code != codeNotAuth {
		t.Errorf("after a failed reload, subscribe new/#: 0x%02x, want 0x87", code)
	}

	// A missing file is an error too, and also keeps the rules.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := b.hook.Reload(); !errors.Is(err, ErrReadFile) {
		t.Fatalf("Reload of a missing file: %v", err)
	}
	if code := alice.publish(t, "old/y", 1, false); code != 0 {
		t.Errorf("after a missing file, old/y: 0x%02x, want 0", code)
	}

	// A good file takes effect, for publishes and for deliveries on existing
	// subscriptions.
	write("user alice\ntopic readwrite new/#\ntopic write old/#\n")
	if err := b.hook.Reload(); err != nil {
		t.Fatal(err)
	}
	if code := alice.publish(t, "new/x", 1, false); code != 0 {
		t.Errorf("after reload, new/x: 0x%02x, want 0", code)
	}
	alice.publish(t, "old/z", 1, false) // allowed to write, no longer to read
	if code := alice.subscribe(t, "new/#"); code != codeGranted1 {
		t.Fatalf("after reload, subscribe new/#: 0x%02x", code)
	}
	alice.publish(t, "new/canary", 1, false)
	alice.in.wait(t, alice.name, "new/canary")
	if alice.in.has("old/z") {
		t.Error("BYPASS: old/z delivered after the read grant was removed")
	}
}

// TestEndToEndSubscribeDenyCover runs the rules of configs/paho-conformance.yaml
// in mosquitto's mode: "#" and "+/+" are accepted although a deny overlaps
// them, test/nosubscribe is refused (v5 0x87, v3 0x80), and the denied topic
// is still never delivered.
func TestEndToEndSubscribeDenyCover(t *testing.T) {
	b := newTestBroker(t, Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyCover, Rules: []string{
		"topic deny test/nosubscribe",
		"topic readwrite #",
		"topic read $SYS/#",
	}})
	sub := connect5(t, b.addr, "sub-1", "")
	for _, f := range []string{"#", "+/+", "$share/g/#", "test/+"} {
		if code := sub.subscribe(t, f); code != codeGranted1 {
			t.Errorf("subscribe %q: 0x%02x, want granted", f, code)
		}
	}
	if code := sub.subscribe(t, "test/nosubscribe"); code != codeNotAuth {
		t.Errorf("subscribe test/nosubscribe: 0x%02x, want 0x87", code)
	}
	v3 := connect3(t, b.addr, "sub-v3", "")
	if code := v3.subscribe(t, "test/nosubscribe"); code != codeV3SubFailure {
		t.Errorf("v3 subscribe test/nosubscribe: 0x%02x, want 0x80", code)
	}
	if code := v3.subscribe(t, "#"); code != 0x01 {
		t.Errorf("v3 subscribe #: 0x%02x, want 0x01", code)
	}
	pub := connect5(t, b.addr, "pub-1", "")
	if code := pub.publish(t, "test/nosubscribe", 1, false); code != codeNotAuth {
		t.Errorf("publish test/nosubscribe: 0x%02x, want 0x87", code)
	}
	pub.publish(t, "test/other", 1, false)
	sub.in.wait(t, sub.name, "test/other")
	if sub.in.has("test/nosubscribe") {
		t.Error("BYPASS: test/nosubscribe delivered")
	}
}
