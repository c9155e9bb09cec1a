package metrics_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/mochi-mqtt/server/v2"
)

const (
	mPacketsRecv   = "imqtt_packets_received_total"
	mPacketsSent   = "imqtt_packets_sent_total"
	mMsgsRecv      = "imqtt_messages_received_total"
	mMsgsSent      = "imqtt_messages_sent_total"
	mDropped       = "imqtt_messages_dropped_total"
	mActive        = "imqtt_connections_active"
	mEstablished   = "imqtt_connections_established_total"
	mBytesRecv     = "imqtt_bytes_received_total"
	mBytesSent     = "imqtt_bytes_sent_total"
	mSubs          = "imqtt_subscriptions"
	mRetained      = "imqtt_retained_messages"
	mInflight      = "imqtt_inflight_messages"
	mConnected     = "imqtt_clients_connected"
	mClientsTotal  = "imqtt_clients_total"
	mDisconnected  = "imqtt_sessions_disconnected"
	labelListener  = "listener=" + listenerID
	typeConnect    = "type=connect"
	typeConnack    = "type=connack"
	typePublish    = "type=publish"
	typePuback     = "type=puback"
	typePubrec     = "type=pubrec"
	typePubrel     = "type=pubrel"
	typePubcomp    = "type=pubcomp"
	typeSubscribe  = "type=subscribe"
	typeSuback     = "type=suback"
	typeDisconnect = "type=disconnect"
)

var allTypes = []string{
	"connect", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp", "subscribe",
	"suback", "unsubscribe", "unsuback", "pingreq", "pingresp", "disconnect", "auth",
}

// packetCounts expects exactly the given counts for family name, 0 for every
// other packet type.
func packetCounts(name string, counts map[string]float64) []expect {
	var out []expect
	for _, ty := range allTypes {
		out = append(out, e(name, counts[ty], "type="+ty))
	}
	return out
}

// TestHookCountsRealTraffic drives a real broker with an MQTT 5 subscriber and an
// MQTT 3.1.1 publisher (QoS 0, 1, 2 and a retained message) and checks the exact
// counters scraped over HTTP from a real admin server.
func TestHookCountsRealTraffic(t *testing.T) {
	b := newTestBroker(t, nil)
	before := b.scrape(t)
	retained0 := before.must(t, mRetained) // mochi retains its $SYS topics
	check(t, before,
		e(mConnected, 0), e(mClientsTotal, 0), e(mSubs, 0), e(mInflight, 0), e(mDisconnected, 0),
		e(mBytesRecv, 0), e(mBytesSent, 0),
	)
	check(t, before, packetCounts(mPacketsRecv, nil)...)

	var mu sync.Mutex
	var got []*paho.Publish
	gotAll := make(chan struct{})
	sub := connectV5(t, b.mqttAddr, "sub5", 300, false, func(p *paho.Publish) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, p)
		if len(got) == 3 {
			close(gotAll)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "t/#", QoS: 2}}}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}

	pub := connectV3(t, b.mqttAddr, "pub3", true, nil)
	for qos := byte(0); qos <= 2; qos++ {
		waitToken(t, pub.Publish("t/a", qos, false, []byte{'m', '0' + qos}), "publish")
	}
	waitToken(t, pub.Publish("keep/1", 0, true, []byte("retained")), "publish retained")

	select {
	case <-gotAll:
	case <-time.After(5 * time.Second):
		t.Fatal("subscriber did not receive the 3 messages")
	}
	mu.Lock()
	for i, p := range got {
		if p.QoS != byte(i) {
			t.Errorf("message %d delivered at QoS %d, want %d", i, p.QoS, i)
		}
	}
	mu.Unlock()

	// The subscriber acks asynchronously: wait for its PUBACK and PUBCOMP, and for
	// the retained message, before disconnecting.
	// OnPacketRead counts a PUBCOMP before mochi drops the in-flight entry, and the
	// retained gauge follows the retain: wait for those too.
	connected := b.waitFor(t,
		e(mPacketsRecv, 1, typePuback), e(mPacketsRecv, 1, typePubcomp), e(mMsgsRecv, 2, "qos=0"),
		e(mRetained, retained0+1), e(mInflight, 0),
	)
	check(t, connected,
		e(mActive, 2, labelListener), e(mEstablished, 2, labelListener),
		e(mConnected, 2), e(mClientsTotal, 2), e(mDisconnected, 0), e(mSubs, 1),
		e(mRetained, retained0+1), e(mInflight, 0),
	)

	if err := sub.Disconnect(&paho.Disconnect{ReasonCode: 0}); err != nil {
		t.Fatalf("v5 disconnect: %v", err)
	}
	pub.Disconnect(250)

	final := b.waitFor(t, e(mActive, 0, labelListener), e(mPacketsRecv, 2, typeDisconnect), e(mConnected, 0))
	check(t, final, packetCounts(mPacketsRecv, map[string]float64{
		"connect":    2,
		"subscribe":  1,
		"publish":    4, // QoS 0, 1, 2 and the retained one
		"pubrel":     1, // publisher's QoS 2 flow
		"puback":     1, // subscriber acks the QoS 1 delivery
		"pubrec":     1, // subscriber's QoS 2 delivery flow
		"pubcomp":    1,
		"disconnect": 2,
	})...)
	check(t, final, packetCounts(mPacketsSent, map[string]float64{
		"connack": 2,
		"suback":  1,
		"puback":  1, // to the publisher
		"pubrec":  1,
		"pubcomp": 1,
		"publish": 3, // to the subscriber
		"pubrel":  1,
	})...)
	check(t, final,
		e(mMsgsRecv, 2, "qos=0"), e(mMsgsRecv, 1, "qos=1"), e(mMsgsRecv, 1, "qos=2"),
		e(mMsgsSent, 1, "qos=0"), e(mMsgsSent, 1, "qos=1"), e(mMsgsSent, 1, "qos=2"),
		e(mActive, 0, labelListener), e(mEstablished, 2, labelListener),
		// sub5 has a session expiry: its session and subscription stay.
		e(mConnected, 0), e(mClientsTotal, 1), e(mDisconnected, 1), e(mSubs, 1),
		e(mInflight, 0), e(mRetained, retained0+1),
		e(mDropped, 0, "reason=client_writes_pending"), e(mDropped, 0, "reason=packet_ids_exhausted"),
		e(mDropped, 0, "reason=inflight_quota"), e(mDropped, 0, "reason=expired"), e(mDropped, 0, "reason=qos_dropped"),
	)

	// Bytes and packet totals agree exactly with mochi's own accounting.
	info := b.srv.Info.Clone()
	check(t, final, e(mBytesRecv, float64(info.BytesReceived)), e(mBytesSent, float64(info.BytesSent)))
	var recv, sent float64
	for _, ty := range allTypes {
		recv += final.must(t, mPacketsRecv, "type="+ty)
		sent += final.must(t, mPacketsSent, "type="+ty)
	}
	if recv != float64(info.PacketsReceived) || sent != float64(info.PacketsSent) {
		t.Fatalf("packets received/sent = %v/%v, mochi counted %d/%d", recv, sent, info.PacketsReceived, info.PacketsSent)
	}
	if info.BytesReceived == 0 || info.BytesSent == 0 {
		t.Fatalf("mochi counted no bytes: %+v", info)
	}
}

// TestSessionTakeover checks that a takeover leaves exactly one active connection:
// mochi calls OnDisconnect for the old connection once.
func TestSessionTakeover(t *testing.T) {
	b := newTestBroker(t, nil)
	var lost atomic.Int32
	connectV3(t, b.mqttAddr, "dup", false, func() { lost.Add(1) })
	b.waitFor(t, e(mActive, 1, labelListener), e(mEstablished, 1, labelListener))

	second := connectV3(t, b.mqttAddr, "dup", false, nil)
	b.waitFor(t, e(mActive, 1, labelListener), e(mEstablished, 2, labelListener), e(mConnected, 1))
	deadline := time.Now().Add(5 * time.Second)
	for lost.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first client was not disconnected by the takeover")
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}

	second.Disconnect(250)
	s := b.waitFor(t, e(mActive, 0, labelListener), e(mConnected, 0))
	// clean=false: the session stays, disconnected.
	check(t, s, e(mEstablished, 2, labelListener), e(mClientsTotal, 1), e(mDisconnected, 1))
}

// TestDropReasons provokes real drops: a full inflight store (inflight_quota), an
// inflight message that expires (expired; mochi reports it twice) and an unacked
// message discarded when a clean session ends (qos_dropped).
func TestDropReasons(t *testing.T) {
	b := newTestBroker(t, func(c *mqtt.Capabilities) { c.MaximumInflight = 1 })

	// The subscriber never acks, so each QoS 1 delivery stays inflight.
	received := make(chan string, 8)
	sub := connectV5(t, b.mqttAddr, "slow", 0, true, func(p *paho.Publish) { received <- p.Topic })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "d/#", QoS: 1}}}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	pub := connectV5(t, b.mqttAddr, "pub", 0, false, nil)
	publish := func(topic string, expiry uint32) {
		t.Helper()
		p := &paho.Publish{Topic: topic, QoS: 1, Payload: []byte("x")}
		if expiry > 0 {
			p.Properties = &paho.PublishProperties{MessageExpiry: &expiry}
		}
		if _, err := pub.Publish(ctx, p); err != nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
	}
	wantTopic := func(topic string) {
		t.Helper()
		select {
		case got := <-received:
			if got != topic {
				t.Fatalf("received %s, want %s", got, topic)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("did not receive %s", topic)
		}
	}

	publish("d/1", 1) // delivered, stays inflight, expires after ~1-2 s
	wantTopic("d/1")
	publish("d/2", 0) // inflight store full: dropped
	b.waitFor(t, e(mDropped, 1, "reason=inflight_quota"))
	b.waitFor(t, e(mDropped, 1, "reason=expired"), e(mInflight, 0))

	publish("d/3", 0) // the store has room again
	wantTopic("d/3")
	b.waitFor(t, e(mInflight, 1))
	if err := sub.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatalf("disconnect: %v", err)
	}
	s := b.waitFor(t, e(mDropped, 1, "reason=qos_dropped"), e(mActive, 1, labelListener))
	check(t, s,
		e(mDropped, 1, "reason=inflight_quota"), e(mDropped, 1, "reason=expired"),
		e(mDropped, 1, "reason=qos_dropped"), e(mDropped, 0, "reason=client_writes_pending"),
		e(mDropped, 0, "reason=packet_ids_exhausted"),
		e(mMsgsRecv, 3, "qos=1"), e(mMsgsSent, 2, "qos=1"), e(mInflight, 0),
	)
}
