package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/mochi-mqtt/server/v2/packets"
)

// as sets a CONNECT's user name and a v5 Session Expiry Interval.
func as(user string, expiry uint32) func(*packets.Packet) {
	return func(pk *packets.Packet) {
		pk.Connect.Username, pk.Connect.UsernameFlag = []byte(user), user != ""
		if expiry > 0 { // ignored by the 3.1.1 encoding
			pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = expiry, true
		}
	}
}

func TestSessionOwnerRefused(t *testing.T) {
	te := newTestEngine(t, nil)
	alice := dialRaw(t, te.addr, 5)
	if ca := alice.connect("dev1", false, as("alice", 3600)); ca.ReasonCode != 0 {
		t.Fatalf("alice: 0x%02x", ca.ReasonCode)
	}
	// A live holder: eve is refused and alice stays connected.
	eve := dialRaw(t, te.addr, 5)
	if ca := eve.connect("dev1", false, as("eve", 3600)); ca.ReasonCode != 0x87 {
		t.Fatalf("eve over a live session: 0x%02x, want 0x87", ca.ReasonCode)
	}
	eve.expectClosed()
	alice.subscribe("a/b", 1, nil) // still served
	alice.disconnectAndWait()

	// An offline one: refused on v5 and 3.1.1 (return code 5), even with
	// clean start; alice resumes it.
	eve = dialRaw(t, te.addr, 5)
	if ca := eve.connect("dev1", true, as("eve", 3600)); ca.ReasonCode != 0x87 {
		t.Fatalf("eve clean start over an offline session: 0x%02x, want 0x87", ca.ReasonCode)
	}
	eve3 := dialRaw(t, te.addr, 4)
	if ca := eve3.connect("dev1", false, as("eve", 0)); ca.ReasonCode != 5 {
		t.Fatalf("3.1.1 eve: rc %d, want 5", ca.ReasonCode)
	}
	// Anonymous is an owner too.
	anon := dialRaw(t, te.addr, 5)
	if ca := anon.connect("dev1", false, as("", 3600)); ca.ReasonCode != 0x87 {
		t.Fatalf("anonymous over alice's session: 0x%02x, want 0x87", ca.ReasonCode)
	}
	alice = dialRaw(t, te.addr, 5)
	if ca := alice.connect("dev1", false, as("alice", 3600)); ca.ReasonCode != 0 || !ca.SessionPresent {
		t.Fatalf("alice resumes: 0x%02x present %v", ca.ReasonCode, ca.SessionPresent)
	}
	if n := te.obs.limit(LimitOwnerMismatch); n != 4 {
		t.Fatalf("owner refusals counted %d, want 4", n)
	}
}

func TestSessionOwnerCleanStartMode(t *testing.T) {
	te := newTestEngine(t, func(c *Config, _ *transport.Config) { c.OwnerMismatchCleanStart = true })
	alice := dialRaw(t, te.addr, 5)
	alice.connect("dev1", false, as("alice", 3600))
	alice.subscribe("secret/#", 1, nil)
	eve := dialRaw(t, te.addr, 5)
	if ca := eve.connect("dev1", false, as("eve", 3600)); ca.ReasonCode != 0x87 {
		t.Fatalf("eve over a live session: 0x%02x, want 0x87", ca.ReasonCode)
	}
	alice.disconnectAndWait()
	p := dialRaw(t, te.addr, 5)
	p.connect("pub", true, nil)
	p.publish("secret/1", "for alice", 1, false, nil)
	p.expect(packets.Puback)

	eve = dialRaw(t, te.addr, 5)
	ca := eve.connect("dev1", false, as("eve", 3600))
	if ca.ReasonCode != 0 || ca.SessionPresent {
		t.Fatalf("eve in clean_start mode: 0x%02x present %v, want a new session", ca.ReasonCode, ca.SessionPresent)
	}
	if pk, err := eve.tryRecv(300 * time.Millisecond); err == nil {
		t.Fatalf("eve got %s from alice's discarded session", packets.PacketNames[pk.FixedHeader.Type])
	}
}

func TestSessionsPerUser(t *testing.T) {
	te := newTestEngine(t, func(c *Config, _ *transport.Config) { c.MaxSessionsPerUser = 2 })
	for _, id := range []string{"b1", "b2"} {
		c := dialRaw(t, te.addr, 5)
		if ca := c.connect(id, false, as("bob", 3600)); ca.ReasonCode != 0 {
			t.Fatalf("%s: 0x%02x", id, ca.ReasonCode)
		}
		c.disconnectAndWait()
	}
	c := dialRaw(t, te.addr, 5)
	if ca := c.connect("b3", false, as("bob", 3600)); ca.ReasonCode != 0x97 {
		t.Fatalf("third persistent session: 0x%02x, want 0x97", ca.ReasonCode)
	}
	c3 := dialRaw(t, te.addr, 4)
	if ca := c3.connect("b3", false, as("bob", 0)); ca.ReasonCode != 3 {
		t.Fatalf("3.1.1 third persistent session: rc %d, want 3", ca.ReasonCode)
	}
	// Resuming one he holds, a clean session and another user are fine.
	c = dialRaw(t, te.addr, 5)
	if ca := c.connect("b1", false, as("bob", 3600)); ca.ReasonCode != 0 || !ca.SessionPresent {
		t.Fatalf("resume b1: 0x%02x present %v", ca.ReasonCode, ca.SessionPresent)
	}
	// Ending b1 (expiry 0 on DISCONNECT) frees a place.
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect},
		Properties: packets.Properties{SessionExpiryInterval: 0, SessionExpiryIntervalFlag: true}})
	c.expectClosed()
	clean := dialRaw(t, te.addr, 5)
	if ca := clean.connect("b-clean", true, as("bob", 0)); ca.ReasonCode != 0 {
		t.Fatalf("clean session: 0x%02x", ca.ReasonCode)
	}
	waitFor(t, "b1 ended", func() bool {
		te.mu.Lock()
		defer te.mu.Unlock()
		return te.perUser["bob"] == 1
	})
	c = dialRaw(t, te.addr, 5)
	if ca := c.connect("b3", false, as("bob", 3600)); ca.ReasonCode != 0 {
		t.Fatalf("b3 after b1 ended: 0x%02x", ca.ReasonCode)
	}
	if n := te.obs.limit(LimitMaxPerUser); n != 2 {
		t.Fatalf("per-user refusals counted %d, want 2", n)
	}
}

func TestSubscriptionsPerClient(t *testing.T) {
	te := newTestEngine(t, func(c *Config, _ *transport.Config) { c.MaxSubscriptionsPerClient = 2 })
	for _, v := range []byte{5, 4} {
		c := dialRaw(t, te.addr, v)
		c.connect("subs"+string('0'+rune(v)), true, nil)
		for _, f := range []string{"a", "b", "a"} { // a re-sent filter does not count
			if codes := c.subscribe(f, 1, nil); codes[0] != 1 {
				t.Fatalf("v%d %s: %v", v, f, codes)
			}
		}
		want := byte(0x97)
		if v == 4 {
			want = 0x80
		}
		if codes := c.subscribe("c", 1, nil); codes[0] != want {
			t.Fatalf("v%d third filter: 0x%02x, want 0x%02x", v, codes[0], want)
		}
	}
	if n := te.obs.limit(LimitMaxSubsPerClient); n != 2 {
		t.Fatalf("refusals counted %d, want 2", n)
	}
}

func TestTopicLevelsRefused(t *testing.T) {
	te := newTestEngine(t, func(c *Config, _ *transport.Config) { c.MaxTopicLevels = 5 })
	deep := "a/b/c/d/e/f"
	huge := "im/u/dave" + strings.Repeat("/", 40000)
	c := dialRaw(t, te.addr, 5)
	c.connect("deep", true, nil)
	for _, f := range []string{deep, huge} {
		if codes := c.subscribe(f, 1, nil); codes[0] != 0x8F {
			t.Fatalf("subscribe %d levels: %v, want 0x8F", strings.Count(f, "/")+1, codes)
		}
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsubscribe}, PacketID: c.nextID(),
		Filters: packets.Subscriptions{{Filter: huge}}})
	if ua := c.expect(packets.Unsuback); ua.ReasonCodes[0] != 0x8F {
		t.Fatalf("unsubscribe: %v, want 0x8F", ua.ReasonCodes)
	}
	c.publish(deep, "x", 1, false, nil)
	if a := c.expect(packets.Puback); a.ReasonCode != 0x90 {
		t.Fatalf("QoS 1 deep publish: PUBACK 0x%02x, want 0x90", a.ReasonCode)
	}
	c.publish(huge, "x", 2, false, nil)
	if a := c.expect(packets.Pubrec); a.ReasonCode != 0x90 {
		t.Fatalf("QoS 2 deep publish: PUBREC 0x%02x, want 0x90", a.ReasonCode)
	}
	c.publish("a/b", "ok", 1, false, nil) // the connection stays
	c.expect(packets.Puback)
	c.publish(deep, "x", 0, false, nil)
	if d := c.expect(packets.Disconnect); d.ReasonCode != 0x90 {
		t.Fatalf("QoS 0 deep publish: DISCONNECT 0x%02x, want 0x90", d.ReasonCode)
	}

	old := dialRaw(t, te.addr, 4)
	old.connect("deep3", true, nil)
	old.publish(deep, "x", 1, false, nil)
	old.expectClosed()

	w := dialRaw(t, te.addr, 5)
	if ca := w.connect("deepwill", true, func(pk *packets.Packet) {
		pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillPayload = true, deep, []byte("bye")
	}); ca.ReasonCode != 0x87 {
		t.Fatalf("deep will: CONNACK 0x%02x, want 0x87", ca.ReasonCode)
	}
	if n := te.obs.limit(LimitMaxTopicLevels); n != 8 {
		t.Fatalf("refusals counted %d, want 8", n)
	}
}
