package storage

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/persist"
)

// QoS 2 exactly once across a restart in the PUBREL phase: after the client's
// PUBREC the broker restarts; the session resumes with PUBREL for the same id,
// never with the PUBLISH again.
func TestQoS2PubrelPhaseSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir, DefaultConfig())
	sub := rawConnect(t, b.addr, "q2", true, 3600)
	sub.subscribe("e/x", 2)
	pub, _ := connect(t, b.addr, "pub", true, 0)
	if _, err := publish(pub, "e/x", "once", 2, false); err != nil {
		t.Fatal(err)
	}
	pk := sub.read()
	if pk.FixedHeader.Type != packets.Publish || pk.FixedHeader.Qos != 2 || pk.FixedHeader.Dup {
		t.Fatalf("want QoS 2 PUBLISH DUP=0, got type %d qos %d dup %v", pk.FixedHeader.Type, pk.FixedHeader.Qos, pk.FixedHeader.Dup)
	}
	id := pk.PacketID
	sub.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrec}, PacketID: id})
	if rel := sub.read(); rel.FixedHeader.Type != packets.Pubrel || rel.PacketID != id {
		t.Fatalf("want PUBREL %d, got type %d id %d", id, rel.FixedHeader.Type, rel.PacketID)
	}
	b.crash()

	b2 := startBroker(t, dir, DefaultConfig())
	sub2 := rawConnect(t, b2.addr, "q2", false, 3600)
	rel := sub2.read()
	if rel.FixedHeader.Type != packets.Pubrel || rel.PacketID != id {
		t.Fatalf("after restart want PUBREL %d, got type %d id %d", id, rel.FixedHeader.Type, rel.PacketID)
	}
	sub2.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubcomp}, PacketID: id})
	waitFor(t, "inflight record deleted", func() bool {
		fs, err := b2.store.Inflight("q2")
		return err == nil && len(fs) == 0
	})
	if n, _, _ := b2.store.QueueLen("q2"); n != 0 {
		t.Fatalf("queue still holds %d messages", n)
	}
	// Nothing else is pending for the session: a ping-like probe message
	// published now is the next packet the client sees.
	if _, err := publish(connectPub(t, b2), "e/x", "next", 1, false); err != nil {
		t.Fatal(err)
	}
	if pk := sub2.read(); pk.FixedHeader.Type != packets.Publish || string(pk.Payload) != "next" {
		t.Fatalf("want PUBLISH next, got type %d payload %q", pk.FixedHeader.Type, pk.Payload)
	}
}

// Queue bound: drop-new. With room for 3 messages, the first 3 of 5 offline
// messages are delivered and the publisher is acked for all.
func TestQueueBoundDropsNew(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QueueMaxMessages = 3
	b := startBroker(t, t.TempDir(), cfg)
	sub, _ := connect(t, b.addr, "sub", true, 3600)
	subscribe(t, sub, "b", 1)
	b.disconnect(t, sub, "sub")
	pub := connectPub(t, b)
	for i := range 5 {
		if resp, err := publish(pub, "b", fmt.Sprint(i), 1, false); err != nil || resp.ReasonCode != 0 {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if n, _, _ := b.store.QueueLen("sub"); n != 3 {
		t.Fatalf("queue holds %d, want 3", n)
	}
	_, r := connect(t, b.addr, "sub", false, 3600)
	waitFor(t, "3 messages", func() bool { return len(r.snapshot()) == 3 })
	waitFor(t, "queue drained", func() bool { n, _, _ := b.store.QueueLen("sub"); return n == 0 })
	for i, m := range r.snapshot() {
		if string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("message %d: %q", i, m.Payload)
		}
	}
	// once drained the session takes messages again
	if _, err := publish(pub, "b", "again", 1, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "message after drain", func() bool { return len(r.snapshot()) == 4 })
}

// Session expiry deletes the stored session, its subscriptions and queue.
func TestSessionExpiryDeletes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SweepInterval = 50 * time.Millisecond
	b := startBroker(t, t.TempDir(), cfg)
	sub, _ := connect(t, b.addr, "exp", true, 1)
	subscribe(t, sub, "s", 1)
	b.disconnect(t, sub, "exp")
	if _, err := publish(connectPub(t, b), "s", "x", 1, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "session deleted", func() bool {
		_, err := b.store.Session("exp")
		return errors.Is(err, persist.ErrNotFound)
	})
	subs, _ := b.store.Subscriptions("exp")
	n, _, _ := b.store.QueueLen("exp")
	if len(subs) != 0 || n != 0 {
		t.Fatalf("left %d subscriptions, %d queued", len(subs), n)
	}
	if _, ok := b.engine.Session("exp"); ok {
		t.Fatal("the engine still holds the expired session")
	}
}

// An unacknowledged QoS 1 message is re-sent after a reconnect with DUP=1 and
// the same packet id.
func TestRedeliveryAfterReconnectIsDup(t *testing.T) {
	b := startBroker(t, t.TempDir(), DefaultConfig())
	sub := rawConnect(t, b.addr, "rd", true, 3600)
	sub.subscribe("rd/x", 1)
	if _, err := publish(connectPub(t, b), "rd/x", "m", 1, false); err != nil {
		t.Fatal(err)
	}
	first := sub.read()
	if first.FixedHeader.Type != packets.Publish || first.FixedHeader.Dup {
		t.Fatalf("first delivery: type %d dup %v", first.FixedHeader.Type, first.FixedHeader.Dup)
	}
	sub.conn.Close() // no PUBACK
	waitFor(t, "disconnect", func() bool {
		return b.offline("rd")
	})
	sub2 := rawConnect(t, b.addr, "rd", false, 3600)
	again := sub2.read()
	if again.FixedHeader.Type != packets.Publish || !again.FixedHeader.Dup || again.PacketID != first.PacketID {
		t.Fatalf("re-delivery: type %d dup %v id %d (first id %d)", again.FixedHeader.Type,
			again.FixedHeader.Dup, again.PacketID, first.PacketID)
	}
	sub2.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: again.PacketID})
	waitFor(t, "dequeued", func() bool { n, _, _ := b.store.QueueLen("rd"); return n == 0 })
}
