package engine

import (
	"bytes"
	"github.com/imqtt/imqtt/broker/engine/transport"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

func TestPubSubQoS01(t *testing.T) {
	te := newTestEngine(t, nil)
	for _, v := range []byte{4, 5} {
		sub := dialRaw(t, te.addr, v)
		sub.connect("sub", true, nil)
		if got := sub.subscribe("a/+", 1, nil); !bytes.Equal(got, []byte{1}) {
			t.Fatalf("v%d SUBACK %x", v, got)
		}
		pub := dialRaw(t, te.addr, v)
		pub.connect("pub", true, nil)
		pub.publish("a/b", "zero", 0, false, nil)
		pub.publish("a/b", "one", 1, false, nil)
		if ack := pub.expect(packets.Puback); ack.PacketID != 1 {
			t.Fatalf("PUBACK id %d", ack.PacketID)
		}
		m0 := sub.expect(packets.Publish)
		m1 := sub.expect(packets.Publish)
		if string(m0.Payload) != "zero" || m0.FixedHeader.Qos != 0 || string(m1.Payload) != "one" || m1.FixedHeader.Qos != 1 {
			t.Fatalf("v%d got %q/%d %q/%d", v, m0.Payload, m0.FixedHeader.Qos, m1.Payload, m1.FixedHeader.Qos)
		}
		sub.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: m1.PacketID})
		// $-topics are not matched by # [MQTT-4.7.2-1].
		all := dialRaw(t, te.addr, v)
		all.connect("all", true, nil)
		all.subscribe("#", 0, nil)
		pub.publish("$SYS/x", "sys", 0, false, nil)
		pub.publish("a/c", "after", 0, false, nil)
		if m := all.expect(packets.Publish); m.TopicName != "a/c" {
			t.Fatalf("# subscriber got %q first", m.TopicName)
		}
		for _, r := range []*raw{sub, pub, all} {
			r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
			r.expectClosed()
		}
	}
}

func TestSubscribeInvalidFilter(t *testing.T) {
	te := newTestEngine(t, nil)
	r := dialRaw(t, te.addr, 5)
	r.connect("s", true, nil)
	if got := r.subscribe("a/#/b", 1, nil); !bytes.Equal(got, []byte{0x8F}) {
		t.Fatalf("SUBACK %x, want 8f", got)
	}
	te.acl.mu.Lock()
	te.acl.deny["secret"] = true
	te.acl.mu.Unlock()
	if got := r.subscribe("secret", 1, nil); !bytes.Equal(got, []byte{0x87}) {
		t.Fatalf("SUBACK %x, want 87", got)
	}
}

func TestRetainedAndMessageExpiry(t *testing.T) {
	te := newTestEngine(t, nil)
	pub := dialRaw(t, te.addr, 5)
	pub.connect("pub", true, nil)
	pub.publish("r/long", "kept", 1, true, func(pk *packets.Packet) { pk.Properties.MessageExpiryInterval = 100 })
	pub.expect(packets.Puback)
	pub.publish("r/short", "gone", 1, true, func(pk *packets.Packet) { pk.Properties.MessageExpiryInterval = 1 })
	pub.expect(packets.Puback)
	time.Sleep(1100 * time.Millisecond) // the expiry interval itself is the behaviour under test
	sub := dialRaw(t, te.addr, 5)
	sub.connect("sub", true, nil)
	sub.subscribe("r/#", 1, nil)
	m := sub.expect(packets.Publish)
	if string(m.Payload) != "kept" || !m.FixedHeader.Retain { // [MQTT-3.3.1-8]
		t.Fatalf("retained %q retain=%v", m.Payload, m.FixedHeader.Retain)
	}
	if e := m.Properties.MessageExpiryInterval; e == 0 || e > 99 { // [MQTT-3.3.2-6] the remaining interval
		t.Fatalf("forwarded expiry %d, want 1..99", e)
	}
	if pk, err := sub.tryRecv(200 * time.Millisecond); err == nil {
		t.Fatalf("expired retained message delivered: %q", pk.Payload)
	}
	// An empty retained payload deletes (QoS 1: its PUBACK orders it before
	// sub2's SUBSCRIBE, which another connection sends).
	pub.publish("r/long", "", 1, true, nil)
	pub.expect(packets.Puback)
	sub2 := dialRaw(t, te.addr, 5)
	sub2.connect("sub2", true, nil)
	sub2.subscribe("r/#", 1, nil)
	if pk, err := sub2.tryRecv(200 * time.Millisecond); err == nil {
		t.Fatalf("deleted retained message delivered: %q", pk.Payload)
	}
}

func TestWillKeepsPropertiesAndEmptyPayload(t *testing.T) {
	te := newTestEngine(t, nil)
	sub := dialRaw(t, te.addr, 5)
	sub.connect("sub", true, nil)
	sub.subscribe("will/#", 1, nil)
	w := dialRaw(t, te.addr, 5)
	w.connect("w", true, func(pk *packets.Packet) {
		pk.Connect.WillFlag = true
		pk.Connect.WillTopic = "will/w"
		pk.Connect.WillQos = 1
		pk.Connect.WillPayload = nil // zero length is valid
		p := &pk.Connect.WillProperties
		p.ContentType = "text/plain"
		p.ResponseTopic = "reply/w"
		p.CorrelationData = []byte{1, 2}
		p.PayloadFormat, p.PayloadFormatFlag = 1, true
		p.MessageExpiryInterval = 50
		p.User = []packets.UserProperty{{Key: "k", Val: "v"}}
	})
	w.c.Close() // abnormal close [MQTT-3.1.2-8]
	m := sub.expect(packets.Publish)
	p := m.Properties
	if m.TopicName != "will/w" || len(m.Payload) != 0 || p.ContentType != "text/plain" || p.ResponseTopic != "reply/w" ||
		!bytes.Equal(p.CorrelationData, []byte{1, 2}) || p.PayloadFormat != 1 || p.MessageExpiryInterval == 0 ||
		len(p.User) != 1 || p.User[0].Key != "k" {
		t.Fatalf("will %q %q props %+v", m.TopicName, m.Payload, p)
	}
}

func TestWillOnDisconnect04NotOn00(t *testing.T) {
	te := newTestEngine(t, nil)
	sub := dialRaw(t, te.addr, 5)
	sub.connect("sub", true, nil)
	sub.subscribe("will/#", 0, nil)
	willed := func(id string) *raw {
		r := dialRaw(t, te.addr, 5)
		r.connect(id, true, func(pk *packets.Packet) {
			pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillPayload = true, "will/"+id, []byte(id)
		})
		return r
	}
	n := willed("normal")
	n.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}, ReasonCode: 0})
	n.expectClosed()
	d := willed("with")
	d.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}, ReasonCode: 0x04})
	d.expectClosed()
	if m := sub.expect(packets.Publish); string(m.Payload) != "with" {
		t.Fatalf("first will %q, want only the 0x04 one", m.Payload)
	}
}

func TestWillDelayCancelledByReconnect(t *testing.T) {
	te := newTestEngine(t, nil)
	sub := dialRaw(t, te.addr, 5)
	sub.connect("sub", true, nil)
	sub.subscribe("will/#", 0, nil)
	conn := func() *raw {
		r := dialRaw(t, te.addr, 5)
		r.connect("d", false, func(pk *packets.Packet) {
			pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 60, true
			pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillPayload = true, "will/d", []byte("d")
			pk.Connect.WillProperties.WillDelayInterval = 1
		})
		return r
	}
	r := conn()
	r.c.Close()
	r = conn() // within the delay: no will [MQTT-3.1.3-9]
	if pk, err := sub.tryRecv(1500 * time.Millisecond); err == nil {
		t.Fatalf("will published despite reconnect: %q", pk.Payload)
	}
	r.c.Close()
	if m := sub.expect(packets.Publish); string(m.Payload) != "d" { // after the delay
		t.Fatalf("delayed will %q", m.Payload)
	}
}

func TestSessionExpiryOnDisconnect(t *testing.T) {
	te := newTestEngine(t, nil)
	persistent := func(pk *packets.Packet) {
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 60, true
	}
	r := dialRaw(t, te.addr, 5)
	r.connect("e", false, persistent)
	r.subscribe("x", 1, nil)
	d := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}}
	d.Properties.SessionExpiryInterval, d.Properties.SessionExpiryIntervalFlag = 0, true
	r.send(d)
	r.expectClosed()
	r = dialRaw(t, te.addr, 5)
	if ca := r.connect("e", false, persistent); ca.SessionPresent { // [MQTT-3.14.2-2] honoured
		t.Fatal("session present after DISCONNECT with Session Expiry 0")
	}
	// Expiry 1 s: gone at the next CONNECT once it passed.
	d.Properties.SessionExpiryInterval = 1
	r.send(d)
	r.expectClosed()
	time.Sleep(1100 * time.Millisecond) // the expiry interval is the behaviour under test
	r = dialRaw(t, te.addr, 5)
	if ca := r.connect("e", false, persistent); ca.SessionPresent {
		t.Fatal("expired session present")
	}
}

func TestCleanSessionLeavesNothing(t *testing.T) {
	te := newTestEngine(t, nil)
	for _, v := range []byte{4, 5} {
		r := dialRaw(t, te.addr, v)
		r.connect("clean", true, nil)
		r.subscribe("x", 1, nil)
		r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
		r.expectClosed()
		r = dialRaw(t, te.addr, v)
		if ca := r.connect("clean", false, func(pk *packets.Packet) {
			pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 60, true
		}); ca.SessionPresent {
			t.Fatalf("v%d: session present after a clean session", v)
		}
		r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
		r.expectClosed()
		r = dialRaw(t, te.addr, v)
		if ca := r.connect("clean", false, func(pk *packets.Packet) {
			pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 60, true
		}); !ca.SessionPresent {
			t.Fatalf("v%d: persistent session not present", v)
		}
		r.c.Close()
		r = dialRaw(t, te.addr, v)
		r.connect("clean", true, nil) // clean start ends it for the next round
		r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
		r.expectClosed()
	}
}

func TestUnknownTopicAlias(t *testing.T) {
	te := newTestEngine(t, nil)
	r := dialRaw(t, te.addr, 5)
	r.connect("a", true, nil)
	r.publish("", "x", 0, false, func(pk *packets.Packet) { pk.Properties.TopicAlias, pk.Properties.TopicAliasFlag = 7, true })
	if d := r.expect(packets.Disconnect); d.ReasonCode != 0x82 { // 3.3.2.3.4
		t.Fatalf("DISCONNECT 0x%02x, want 0x82", d.ReasonCode)
	}
	r.expectClosed()
	// A known alias works.
	sub := dialRaw(t, te.addr, 5)
	sub.connect("s", true, nil)
	sub.subscribe("al/t", 0, nil)
	r = dialRaw(t, te.addr, 5)
	r.connect("a", true, nil)
	r.publish("al/t", "1", 0, false, func(pk *packets.Packet) { pk.Properties.TopicAlias, pk.Properties.TopicAliasFlag = 3, true })
	r.publish("", "2", 0, false, func(pk *packets.Packet) { pk.Properties.TopicAlias, pk.Properties.TopicAliasFlag = 3, true })
	sub.expect(packets.Publish)
	if m := sub.expect(packets.Publish); m.TopicName != "al/t" || string(m.Payload) != "2" {
		t.Fatalf("aliased publish %q %q", m.TopicName, m.Payload)
	}
}

func TestInvalidUTF8Topic(t *testing.T) {
	te := newTestEngine(t, nil)
	// PUBLISH QoS 0, topic "\xff", v5 properties length 0.
	r := dialRaw(t, te.addr, 5)
	r.connect("u", true, nil)
	r.write([]byte{0x30, 5, 0, 1, 0xff, 0, 'x'})
	if d := r.expect(packets.Disconnect); d.ReasonCode != 0x81 { // [MQTT-1.5.4-1]
		t.Fatalf("DISCONNECT 0x%02x, want 0x81", d.ReasonCode)
	}
	r.expectClosed()
	// SUBSCRIBE with an invalid UTF-8 filter.
	r = dialRaw(t, te.addr, 5)
	r.connect("u", true, nil)
	r.write([]byte{0x82, 7, 0, 1, 0, 0, 1, 0xff, 0})
	if d := r.expect(packets.Disconnect); d.ReasonCode != 0x81 {
		t.Fatalf("SUBSCRIBE: DISCONNECT 0x%02x, want 0x81", d.ReasonCode)
	}
	r.expectClosed()
	r4 := dialRaw(t, te.addr, 4)
	r4.connect("u4", true, nil)
	r4.write([]byte{0x30, 4, 0, 1, 0xff, 'x'})
	r4.expectClosed()
}

func TestQoS2OutboundReceiveMaximumOne(t *testing.T) {
	te := newTestEngine(t, nil)
	for _, rm := range []uint16{1, 2} {
		sub := dialRaw(t, te.addr, 5)
		sub.connect("s", true, func(pk *packets.Packet) { pk.Properties.ReceiveMaximum = rm })
		sub.subscribe("q2", 2, nil)
		pub := dialRaw(t, te.addr, 5)
		pub.connect("p", true, nil)
		const n = 5
		for i := range n {
			pub.publish("q2", string(rune('a'+i)), 2, false, nil)
			rec := pub.expect(packets.Pubrec)
			pub.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrel}, PacketID: rec.PacketID})
			pub.expect(packets.Pubcomp)
		}
		// Read until every message is complete; each PUBREC must get the
		// PUBREL of its id, never 0x92.
		var got []string
		recd := map[uint16]bool{}
		for done := 0; done < n; {
			pk := sub.recv()
			switch pk.FixedHeader.Type {
			case packets.Publish:
				if pk.FixedHeader.Qos != 2 {
					t.Fatalf("rm %d: qos %d", rm, pk.FixedHeader.Qos)
				}
				got = append(got, string(pk.Payload))
				recd[pk.PacketID] = true
				if len(recd) > int(rm) {
					t.Fatalf("rm %d: %d messages in flight", rm, len(recd))
				}
				sub.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrec}, PacketID: pk.PacketID})
			case packets.Pubrel:
				if !recd[pk.PacketID] || pk.ReasonCode != 0 {
					t.Fatalf("rm %d: PUBREL id %d code 0x%02x", rm, pk.PacketID, pk.ReasonCode)
				}
				delete(recd, pk.PacketID)
				sub.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubcomp}, PacketID: pk.PacketID})
				done++
			default:
				t.Fatalf("rm %d: unexpected %s", rm, packets.PacketNames[pk.FixedHeader.Type])
			}
		}
		if len(got) != n || got[0] != "a" || got[n-1] != "e" {
			t.Fatalf("rm %d: order %v", rm, got)
		}
		sub.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
		pub.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
		sub.expectClosed()
		pub.expectClosed()
	}
}

func TestOfflineQueueAndDupResend(t *testing.T) {
	te := newTestEngine(t, nil)
	persistent := func(pk *packets.Packet) {
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 60, true
	}
	sub := dialRaw(t, te.addr, 5)
	sub.connect("off", false, persistent)
	sub.subscribe("q", 1, nil)
	pub := dialRaw(t, te.addr, 5)
	pub.connect("p", true, nil)
	pub.publish("q", "first", 1, false, nil)
	pub.expect(packets.Puback)
	if m := sub.expect(packets.Publish); string(m.Payload) != "first" {
		t.Fatalf("got %q", m.Payload)
	}
	sub.c.Close() // unacknowledged: resent with DUP [MQTT-4.4.0-1]
	waitFor(t, "session offline", func() bool {
		te.mu.Lock()
		defer te.mu.Unlock()
		return len(te.offline) == 1
	})
	pub.publish("q", "second", 1, false, nil)
	pub.expect(packets.Puback)
	sub = dialRaw(t, te.addr, 5)
	if ca := sub.connect("off", false, persistent); !ca.SessionPresent {
		t.Fatal("session not present")
	}
	m := sub.expect(packets.Publish)
	if string(m.Payload) != "first" || !m.FixedHeader.Dup {
		t.Fatalf("resend %q dup=%v", m.Payload, m.FixedHeader.Dup)
	}
	if m := sub.expect(packets.Publish); string(m.Payload) != "second" || m.FixedHeader.Dup {
		t.Fatalf("queued %q dup=%v", m.Payload, m.FixedHeader.Dup)
	}
}

func TestInboundReceiveMaximum(t *testing.T) {
	te := newTestEngine(t, func(c *Config, _ *transport.Config) { c.ReceiveMaximum = 2 })
	r := dialRaw(t, te.addr, 5)
	r.connect("rm", true, nil)
	for range 2 {
		r.publish("t", "x", 2, false, nil)
		r.expect(packets.Pubrec)
	}
	r.publish("t", "x", 2, false, nil) // a third unreleased QoS 2 [MQTT-3.3.4-9]
	if d := r.expect(packets.Disconnect); d.ReasonCode != 0x93 {
		t.Fatalf("DISCONNECT 0x%02x, want 0x93", d.ReasonCode)
	}
}

func TestInboundPacketTooLarge(t *testing.T) {
	te := newTestEngine(t, func(c *Config, _ *transport.Config) { c.MaxPacketSize = 128 })
	r := dialRaw(t, te.addr, 5)
	if ca := r.connect("big", true, nil); ca.Properties.MaximumPacketSize != 128 {
		t.Fatalf("CONNACK Maximum Packet Size %d", ca.Properties.MaximumPacketSize)
	}
	r.publish("t", string(make([]byte, 200)), 0, false, nil)
	if d := r.expect(packets.Disconnect); d.ReasonCode != 0x95 { // [MQTT-3.2.2-15]
		t.Fatalf("DISCONNECT 0x%02x, want 0x95", d.ReasonCode)
	}
	r.expectClosed()
}

// TestWillDelayNotEarly: a will is never published before its Will Delay
// Interval has passed (the sweep has second resolution: deadlines round
// up). The Paho suite's test_will_delay caught 2.6 s for a delay of 3.
func TestWillDelayNotEarly(t *testing.T) {
	te := newTestEngine(t, nil)
	sub := dialRaw(t, te.addr, 5)
	sub.connect("sub", true, nil)
	sub.subscribe("will/#", 0, nil)
	for i := range 3 {
		r := dialRaw(t, te.addr, 5)
		r.connect("early", true, func(pk *packets.Packet) {
			pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 60, true
			pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillPayload = true, "will/early", []byte("w")
			pk.Connect.WillProperties.WillDelayInterval = 2
		})
		// Spread the closes over a second so one falls late in it.
		time.Sleep(time.Duration(i) * 330 * time.Millisecond)
		start := time.Now()
		r.c.Close()
		sub.expect(packets.Publish)
		if d := time.Since(start); d < 2*time.Second {
			t.Fatalf("will published %v after the close, before its 2 s delay", d)
		}
	}
	// A Session Expiry shorter than the delay publishes it at the session's
	// end, not before.
	r := dialRaw(t, te.addr, 5)
	r.connect("early2", true, func(pk *packets.Packet) {
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 2, true
		pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillPayload = true, "will/early2", []byte("w")
		pk.Connect.WillProperties.WillDelayInterval = 5
	})
	time.Sleep(700 * time.Millisecond)
	start := time.Now()
	r.c.Close()
	sub.expect(packets.Publish)
	if d := time.Since(start); d < 2*time.Second {
		t.Fatalf("will published %v after the close, before the session's 2 s expiry", d)
	}
}
