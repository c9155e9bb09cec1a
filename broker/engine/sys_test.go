package engine

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/mochi-mqtt/server/v2/packets"
)

func TestServerPublish(t *testing.T) {
	te := newTestEngine(t, nil)
	sub := dialRaw(t, te.addr, 5)
	sub.connect("sp-sub", true, nil)
	sub.subscribe("srv/#", 1, nil)
	te.acl.mu.Lock()
	te.acl.deny["srv/secret"] = true // AccessDeliver judges each subscriber
	te.acl.mu.Unlock()
	if err := te.Publish("srv/secret", []byte("no"), 1, false); err != nil {
		t.Fatal(err)
	}
	if err := te.Publish("srv/a", []byte("hello"), 1, true); err != nil {
		t.Fatal(err)
	}
	m := sub.expect(packets.Publish)
	if m.TopicName != "srv/a" || string(m.Payload) != "hello" || m.FixedHeader.Qos != 1 {
		t.Fatalf("got %q %q qos %d", m.TopicName, m.Payload, m.FixedHeader.Qos)
	}
	sub.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: m.PacketID})

	late := dialRaw(t, te.addr, 5) // retained
	late.connect("sp-late", true, nil)
	late.subscribe("srv/a", 0, nil)
	if m := late.expect(packets.Publish); string(m.Payload) != "hello" || !m.FixedHeader.Retain {
		t.Fatalf("retained %q retain=%v", m.Payload, m.FixedHeader.Retain)
	}
	for _, bad := range []string{"", "a/+", "a/#"} {
		if err := te.Publish(bad, nil, 0, false); !errors.Is(err, ErrInvalidTopic) {
			t.Errorf("Publish(%q) = %v, want ErrInvalidTopic", bad, err)
		}
	}
}

// TestServerPublishSlowSubscriber: Publish returns while a subscriber does
// not read; QoS 1 goes to the session's queue.
func TestServerPublishSlowSubscriber(t *testing.T) {
	te := newTestEngine(t, func(_ *Config, tc *transport.Config) { tc.MaxPendingBytes = 4 << 10 })
	sub := dialRaw(t, te.addr, 5)
	sub.connect("slow", true, nil)
	sub.subscribe("big", 1, nil)
	payload := make([]byte, 16<<10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			_ = te.Publish("big", payload, 1, false)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}
}

func TestSysTopics(t *testing.T) {
	te := newTestEngine(t, func(c *Config, _ *transport.Config) {
		c.SysInterval = 50 * time.Millisecond
		c.Version = "9.9.9"
	})
	r := dialRaw(t, te.addr, 5)
	r.connect("sys", true, nil)
	// A live round may be sent between the subscription and its SUBACK,
	// which the spec permits [MQTT-3.8.4] ("permitted to start sending
	// PUBLISH packets matching the Subscription before ... the SUBACK").
	r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe}, PacketID: r.nextID(),
		Filters: packets.Subscriptions{{Filter: "$SYS/#"}}})
	got := map[string]string{}
	subacked := false
	atLeast := func(k string, min int) bool {
		n, err := strconv.Atoi(got["$SYS/broker/"+k])
		return err == nil && n >= min
	}
	ok := func() bool {
		// The retained values of the first round predate this client; a
		// live round counts it.
		return len(got) == 19 && atLeast("clients/connected", 1) && atLeast("clients/total", 1) &&
			atLeast("clients/maximum", 1) && atLeast("subscriptions", 1) && atLeast("retained", 19) &&
			atLeast("packets/received", 2) && atLeast("messages/sent", 1) && atLeast("uptime", 0)
	}
	deadline := time.Now().Add(5 * time.Second)
	for (!ok() || !subacked) && time.Now().Before(deadline) {
		m := r.recv()
		switch m.FixedHeader.Type {
		case packets.Suback:
			subacked = true
		case packets.Publish:
			got[m.TopicName] = string(m.Payload)
		default:
			t.Fatalf("got %s", packets.PacketNames[m.FixedHeader.Type])
		}
	}
	if !subacked {
		t.Fatal("no SUBACK")
	}
	if !ok() {
		t.Fatalf("$SYS values: %v", got)
	}
	if got["$SYS/broker/version"] != "9.9.9" {
		t.Errorf("version %q", got["$SYS/broker/version"])
	}
	hash := dialRaw(t, te.addr, 5) // "#" never matches $SYS [MQTT-4.7.2-1]
	hash.connect("hash", true, nil)
	hash.subscribe("#", 0, nil)
	if pk, err := hash.tryRecv(200 * time.Millisecond); err == nil {
		t.Fatalf("# got %s %q", packets.PacketNames[pk.FixedHeader.Type], pk.TopicName)
	}
}
