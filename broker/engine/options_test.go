package engine

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

func TestSubscriptionOptions(t *testing.T) {
	te := newTestEngine(t, nil)
	c := dialRaw(t, te.addr, 5)
	c.connect("opts", true, nil)
	// No Local [MQTT-3.8.3-3].
	c.subscribe("nl", 0, func(s *packets.Subscription) { s.NoLocal = true })
	c.publish("nl", "own", 0, false, nil)
	// Subscription identifier [MQTT-3.3.4-3], two overlapping subscriptions:
	// one copy carrying both identifiers.
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe}, PacketID: c.nextID(),
		Filters:    packets.Subscriptions{{Filter: "sid/+", Qos: 1}},
		Properties: packets.Properties{SubscriptionIdentifier: []int{7}}})
	c.expect(packets.Suback)
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe}, PacketID: c.nextID(),
		Filters:    packets.Subscriptions{{Filter: "sid/#", Qos: 0}},
		Properties: packets.Properties{SubscriptionIdentifier: []int{9}}})
	c.expect(packets.Suback)
	p := dialRaw(t, te.addr, 5)
	p.connect("p", true, nil)
	p.publish("sid/x", "s", 1, false, nil)
	p.expect(packets.Puback)
	m := c.expect(packets.Publish) // "own" must not have come first
	ids := slices.Clone(m.Properties.SubscriptionIdentifier)
	slices.Sort(ids)
	if m.TopicName != "sid/x" || !slices.Equal(ids, []int{7, 9}) || m.FixedHeader.Qos != 1 {
		t.Fatalf("got %q ids %v qos %d", m.TopicName, ids, m.FixedHeader.Qos)
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: m.PacketID})
	if pk, err := c.tryRecv(200 * time.Millisecond); err == nil {
		t.Fatalf("second copy: %q", pk.TopicName)
	}

	// Retain as published and retain handling.
	p.publish("rh/t", "kept", 0, true, nil)
	waitFor(t, "retained stored", func() bool { return len(te.topics.retained("rh/t", nil)) == 1 })
	c.subscribe("rh/t", 0, func(s *packets.Subscription) { s.RetainHandling = 2 }) // never
	c.subscribe("rh/+", 0, func(s *packets.Subscription) { s.RetainHandling = 1; s.RetainAsPublished = true })
	if m := c.expect(packets.Publish); m.TopicName != "rh/t" || !m.FixedHeader.Retain {
		t.Fatalf("retain handling 1, new subscription: %q retain=%v", m.TopicName, m.FixedHeader.Retain)
	}
	c.subscribe("rh/+", 0, func(s *packets.Subscription) { s.RetainHandling = 1; s.RetainAsPublished = true }) // existed: none
	p.publish("rh/t", "live", 0, true, nil)
	// Two subscriptions match: one copy; RAP keeps the flag [MQTT-3.3.1-12].
	if m := c.expect(packets.Publish); string(m.Payload) != "live" || !m.FixedHeader.Retain {
		t.Fatalf("live retained: %q retain=%v", m.Payload, m.FixedHeader.Retain)
	}
	if pk, err := c.tryRecv(200 * time.Millisecond); err == nil {
		t.Fatalf("unexpected %q %q", pk.TopicName, pk.Payload)
	}
}

func TestSharedSubscriptionRoundRobin(t *testing.T) {
	te := newTestEngine(t, nil)
	a, b := dialRaw(t, te.addr, 5), dialRaw(t, te.addr, 5)
	a.connect("a", true, nil)
	b.connect("b", true, nil)
	a.subscribe("$share/g/sh/+", 0, nil)
	b.subscribe("$share/g/sh/+", 0, nil)
	p := dialRaw(t, te.addr, 5)
	p.connect("p", true, nil)
	for range 4 {
		p.publish("sh/x", "m", 0, false, nil)
	}
	for _, c := range []*raw{a, b} {
		for range 2 {
			c.expect(packets.Publish)
		}
		if pk, err := c.tryRecv(200 * time.Millisecond); err == nil {
			t.Fatalf("more than its share: %q", pk.Payload)
		}
	}
}

func TestOutboundMaximumPacketSize(t *testing.T) {
	te := newTestEngine(t, nil)
	c := dialRaw(t, te.addr, 5)
	c.connect("small", true, func(pk *packets.Packet) { pk.Properties.MaximumPacketSize = 64 })
	c.subscribe("big/#", 1, nil)
	p := dialRaw(t, te.addr, 5)
	p.connect("p", true, nil)
	p.publish("big/1", string(bytes.Repeat([]byte("x"), 100)), 1, false, nil)
	p.publish("big/2", "fits", 1, false, nil)
	if m := c.expect(packets.Publish); m.TopicName != "big/2" { // [MQTT-3.1.2-25]
		t.Fatalf("got %q first", m.TopicName)
	}
	te.obs.mu.Lock()
	defer te.obs.mu.Unlock()
	if te.obs.dropped["packet_too_large"] != 1 {
		t.Fatalf("drops %v", te.obs.dropped)
	}
}

func TestRequestResponsePassthrough(t *testing.T) {
	te := newTestEngine(t, nil)
	c := dialRaw(t, te.addr, 5)
	c.connect("resp", true, nil)
	c.subscribe("req", 0, nil)
	p := dialRaw(t, te.addr, 5)
	p.connect("p", true, nil)
	p.publish("req", "q", 0, false, func(pk *packets.Packet) {
		pk.Properties.ResponseTopic = "rep/p"
		pk.Properties.CorrelationData = []byte("c1")
		pk.Properties.ContentType = "application/json"
		pk.Properties.PayloadFormat, pk.Properties.PayloadFormatFlag = 1, true
		pk.Properties.User = []packets.UserProperty{{Key: "a", Val: "1"}, {Key: "a", Val: "2"}}
	})
	m := c.expect(packets.Publish)
	pr := m.Properties
	if pr.ResponseTopic != "rep/p" || string(pr.CorrelationData) != "c1" || pr.ContentType != "application/json" ||
		pr.PayloadFormat != 1 || len(pr.User) != 2 || pr.User[1].Val != "2" {
		t.Fatalf("properties %+v", pr)
	}
}
