package engine

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/mochi-mqtt/server/v2/packets"
)

// TestSlowSubscriber: a subscriber that stops reading fills its pending
// bound; the publisher is paused up to slow_subscriber_wait, then QoS 0 to
// the slow subscriber is dropped (and counted) while QoS 1 is kept in its
// session and delivered once it reads again. The publisher is never stuck.
func TestSlowSubscriber(t *testing.T) {
	te := newTestEngine(t, func(c *Config, tc *transport.Config) {
		c.SlowSubscriberWait = 50 * time.Millisecond
		tc.MaxPendingBytes = 64 << 10
	})
	sub := dialRaw(t, te.addr, 5)
	sub.c.(*net.TCPConn).SetReadBuffer(64 << 10)
	sub.connect("slow", true, nil)
	sub.subscribe("bp", 1, nil)

	pub := dialRaw(t, te.addr, 5)
	pub.connect("fast", true, nil)
	payload := string(bytes.Repeat([]byte("x"), 4096))
	done := make(chan struct{})
	go func() { // owned: ends when the writes end (the test waits on done)
		defer close(done)
		for range 3000 {
			b, _ := encodeClient(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "bp", Payload: []byte(payload), ProtocolVersion: 5})
			pub.c.SetWriteDeadline(time.Now().Add(20 * time.Second))
			if _, err := pub.c.Write(b); err != nil {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("publisher stuck behind a slow subscriber")
	}
	pub.publish("bp", "last", 1, false, nil)
	pub.expect(packets.Puback)
	te.obs.mu.Lock()
	drops := te.obs.dropped[ext.DropSlowSubscriber]
	te.obs.mu.Unlock()
	if drops == 0 {
		t.Fatal("no QoS 0 message dropped for the slow subscriber")
	}
	// Reading again drains it; the QoS 1 message arrives.
	deadline := time.Now().Add(20 * time.Second)
	n := 0
	for time.Now().Before(deadline) {
		m := sub.recv()
		if m.FixedHeader.Type != packets.Publish {
			continue
		}
		n++
		if string(m.Payload) == "last" {
			if m.FixedHeader.Qos != 1 {
				t.Fatalf("last qos %d", m.FixedHeader.Qos)
			}
			t.Logf("delivered %d of 3001, dropped %d", n, drops)
			return
		}
	}
	t.Fatalf("QoS 1 message to the slow subscriber never delivered (%d publishes read)", n)
}
