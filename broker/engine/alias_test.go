package engine

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/mochi-mqtt/server/v2/packets"
)

// aliasMax sets a CONNECT's Topic Alias Maximum.
func aliasMax(n uint16) func(*packets.Packet) {
	return func(pk *packets.Packet) { pk.Properties.TopicAliasMaximum = n }
}

// got is what a subscriber saw of one PUBLISH.
type got struct {
	topic string
	alias uint16 // 0: no Topic Alias property
}

func (g got) String() string { return fmt.Sprintf("%q/%d", g.topic, g.alias) }

// recvPublish reads one PUBLISH, acknowledges it if QoS 1, and returns its
// topic name and alias.
func (r *raw) recvPublish() got {
	r.t.Helper()
	pk := r.expect(packets.Publish)
	if pk.FixedHeader.Qos == 1 {
		r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
	}
	g := got{topic: pk.TopicName}
	if pk.Properties.TopicAliasFlag {
		g.alias = pk.Properties.TopicAlias
		if g.alias == 0 {
			r.t.Fatalf("PUBLISH %q with Topic Alias 0 [MQTT-3.3.2-8]", pk.TopicName)
		}
	}
	return g
}

// TestOutboundTopicAliases: a v5 client announcing Topic Alias Maximum 2
// gets three topics, twice, at QoS 0 and 1: the first two topics are sent
// with name and alias the first time and with the alias alone after, the
// third always by name (the table is full; no replacement). A v5 client
// without a maximum and a 3.1.1 client, subscribed to the same messages
// (same fan-out), always get names only. A reconnect starts a new table
// [MQTT-3.3.2-7].
func TestOutboundTopicAliases(t *testing.T) {
	te := newTestEngine(t, nil)
	al := dialRaw(t, te.addr, 5)
	al.connect("alias", true, aliasMax(2))
	plain5 := dialRaw(t, te.addr, 5)
	plain5.connect("plain5", true, nil)
	plain4 := dialRaw(t, te.addr, 4)
	plain4.connect("plain4", true, nil)
	for _, r := range []*raw{al, plain5, plain4} {
		r.subscribe("t/#", 1, nil)
	}
	pub := dialRaw(t, te.addr, 5)
	pub.connect("pub", true, nil)

	topics := []string{"t/a", "t/b", "t/c"}
	send := func(qos byte) {
		for _, tp := range topics {
			pub.publish(tp, "x", qos, false, nil)
			if qos == 1 {
				pub.expect(packets.Puback)
			}
		}
	}
	want := []got{{"t/a", 1}, {"t/b", 2}, {"t/c", 0}, {"", 1}, {"", 2}, {"t/c", 0}, {"", 1}, {"", 2}, {"t/c", 0}}
	send(0)
	send(1)
	send(0)
	for i, w := range want {
		if g := al.recvPublish(); g != w {
			t.Fatalf("aliased client, PUBLISH %d: got %v, want %v", i, g, w)
		}
		for _, r := range []*raw{plain5, plain4} {
			if g := r.recvPublish(); g != (got{topic: topics[i%3]}) {
				t.Fatalf("client v%d without aliases, PUBLISH %d: got %v", r.v, i, g)
			}
		}
	}

	// A new connection of the same client id starts with no aliases.
	al.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	al.expectClosed()
	al = dialRaw(t, te.addr, 5)
	al.connect("alias", false, aliasMax(2))
	al.subscribe("t/#", 1, nil)
	send(1)
	send(1)
	for i, w := range want[:6] {
		if g := al.recvPublish(); g != w {
			t.Fatalf("after reconnect, PUBLISH %d: got %v, want %v", i, g, w)
		}
	}
}

// TestOutboundTopicAliasCap: the engine's mqtt.outbound_topic_alias_maximum
// bounds the table below the client's maximum, and 0 turns aliases off.
func TestOutboundTopicAliasCap(t *testing.T) {
	for _, cap := range []uint16{0, 1} {
		t.Run(fmt.Sprint(cap), func(t *testing.T) {
			te := newTestEngine(t, func(c *Config, _ *transport.Config) { c.OutboundTopicAliasMaximum = cap })
			sub := dialRaw(t, te.addr, 5)
			sub.connect("sub", true, aliasMax(100))
			sub.subscribe("t/+", 0, nil)
			for range 2 {
				sub.publish("t/a", "x", 0, false, nil) // to itself
				sub.publish("t/b", "x", 0, false, nil)
			}
			want := []got{{"t/a", 1}, {"t/b", 0}, {"", 1}, {"t/b", 0}}
			if cap == 0 {
				want = []got{{"t/a", 0}, {"t/b", 0}, {"t/a", 0}, {"t/b", 0}}
			}
			for i, w := range want {
				if g := sub.recvPublish(); g != w {
					t.Fatalf("PUBLISH %d: got %v, want %v", i, g, w)
				}
			}
		})
	}
}

// TestOutboundTopicAliasNotBoundWhenDropped: a PUBLISH above the client's
// Maximum Packet Size is dropped [MQTT-3.1.2-25], so the alias it would have
// announced is not bound: the next PUBLISH of that topic carries the name.
func TestOutboundTopicAliasNotBoundWhenDropped(t *testing.T) {
	te := newTestEngine(t, nil)
	sub := dialRaw(t, te.addr, 5)
	sub.connect("sub", true, func(pk *packets.Packet) {
		pk.Properties.TopicAliasMaximum = 4
		pk.Properties.MaximumPacketSize = 200
	})
	sub.subscribe("t/a", 0, nil)
	pub := dialRaw(t, te.addr, 5)
	pub.connect("pub", true, nil)
	pub.publish("t/a", string(make([]byte, 500)), 0, false, nil)
	pub.publish("t/a", "small", 0, false, nil)
	pub.publish("t/a", "again", 0, false, nil)
	for i, w := range []got{{"t/a", 1}, {"", 1}} {
		if g := sub.recvPublish(); g != w {
			t.Fatalf("PUBLISH %d: got %v, want %v", i, g, w)
		}
	}
}

// TestOutboundTopicAliasesPaho: paho.golang announcing Topic Alias Maximum 5
// decodes every aliased PUBLISH: its router resolves the aliases and each
// topic's handler gets all of that topic's messages.
func TestOutboundTopicAliasesPaho(t *testing.T) {
	te := newTestEngine(t, nil)
	conn, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var mu sync.Mutex
	counts := map[string]int{}
	aliased := 0
	router := paho.NewStandardRouter()
	topics := []string{"p/a", "p/b", "p/c"}
	for _, tp := range topics {
		router.RegisterHandler(tp, func(p *paho.Publish) {
			mu.Lock()
			defer mu.Unlock()
			counts[tp]++
			if p.Properties != nil && p.Properties.TopicAlias != nil {
				aliased++
			}
		})
	}
	cl := paho.NewClient(paho.ClientConfig{Conn: conn, Router: router})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	max := uint16(5)
	if ca, err := cl.Connect(ctx, &paho.Connect{ClientID: "paho", CleanStart: true, KeepAlive: 0,
		Properties: &paho.ConnectProperties{TopicAliasMaximum: &max}}); err != nil || ca.ReasonCode != 0 {
		t.Fatalf("connect: %v %+v", err, ca)
	}
	if _, err := cl.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "p/+", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	const rounds = 4
	pub := dialRaw(t, te.addr, 5)
	pub.connect("pub", true, nil)
	for i := range rounds {
		for _, tp := range topics {
			pub.publish(tp, "x", byte(i%2), false, nil)
			if i%2 == 1 {
				pub.expect(packets.Puback)
			}
		}
	}
	waitFor(t, "every message at paho", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return counts["p/a"] == rounds && counts["p/b"] == rounds && counts["p/c"] == rounds
	})
	mu.Lock()
	if aliased != rounds*len(topics) {
		t.Errorf("%d of %d messages carried a topic alias", aliased, rounds*len(topics))
	}
	mu.Unlock()
	if err := cl.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
}
