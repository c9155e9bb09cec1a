package storage

import (
	"fmt"
	"testing"
	"time"

	mqtt3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/imqtt/imqtt/persist"
)

// Offline QoS 1 and 2 messages arrive after reconnect, in publish order; the
// reconnecting client subscribes and publishes QoS 2 at once without id clashes.
func TestOfflineQueueDeliveredInOrder(t *testing.T) {
	b := startBroker(t, t.TempDir(), DefaultConfig())
	sub, _ := connect(t, b.addr, "sub", true, 3600)
	subscribe(t, sub, "a/#", 2)
	b.disconnect(t, sub, "sub")

	pub, _ := connect(t, b.addr, "pub", true, 0)
	for i := range 10 {
		if _, err := publish(pub, "a/b", fmt.Sprint(i), byte(1+i%2), false); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	sub2, r := connect(t, b.addr, "sub", false, 3600)
	subscribe(t, sub2, "x/y", 2)
	for i := range 5 {
		if _, err := publish(sub2, "x/y", fmt.Sprint("self", i), 2, false); err != nil {
			t.Fatalf("self publish: %v", err)
		}
	}
	waitFor(t, "15 messages", func() bool { return len(r.snapshot()) >= 15 })
	var got []string
	for _, m := range r.snapshot() {
		if m.Topic == "a/b" {
			got = append(got, string(m.Payload))
		}
	}
	if len(got) != 10 {
		t.Fatalf("got %d queued messages: %v", len(got), got)
	}
	for i, p := range got {
		if p != fmt.Sprint(i) {
			t.Fatalf("order: %v", got)
		}
	}
	for _, m := range r.snapshot() {
		if m.Duplicate() {
			t.Fatalf("DUP=1 on first delivery of %q", m.Payload)
		}
	}
}

// QoS 0 is queued for an offline persistent session.
func TestOfflineQoS0Queued(t *testing.T) {
	b := startBroker(t, t.TempDir(), DefaultConfig())
	sub, _ := connect(t, b.addr, "sub", true, 3600)
	subscribe(t, sub, "q0", 0)
	b.disconnect(t, sub, "sub")
	pub, _ := connect(t, b.addr, "pub", true, 0)
	if _, err := publish(pub, "q0", "zero", 0, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "enqueue", func() bool { n, _, _ := b.store.QueueLen("sub"); return n == 1 })
	_, r := connect(t, b.addr, "sub", false, 3600)
	waitFor(t, "qos0 message", func() bool { return len(r.snapshot()) == 1 })
}

// Clean sessions never touch raft.
func TestCleanSessionsNoApply(t *testing.T) {
	b := startBroker(t, t.TempDir(), DefaultConfig())
	sub, r := connect(t, b.addr, "c1", true, 0)
	subscribe(t, sub, "t/#", 1)
	pub, _ := connect(t, b.addr, "c2", true, 0)
	for i := range 5 {
		if _, err := publish(pub, "t/x", "m", 1, false); err != nil {
			t.Fatal(err)
		}
		_ = i
	}
	waitFor(t, "delivery", func() bool { return len(r.snapshot()) == 5 })
	if n := b.app.count.Load(); n != 0 {
		t.Fatalf("%d applies for clean sessions", n)
	}
}

// An acked QoS 1 message survives a stop of the whole node right after the
// PUBACK; so do the session, the subscription and a retained message.
func TestAckedSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir, DefaultConfig())
	sub, _ := connect(t, b.addr, "sub", true, 3600)
	subscribe(t, sub, "d/#", 1)
	b.disconnect(t, sub, "sub")
	pub, _ := connect(t, b.addr, "pub", true, 0)
	if _, err := publish(pub, "d/1", "durable", 1, false); err != nil {
		t.Fatal(err)
	}
	if _, err := publish(pub, "d/r", "kept", 1, true); err != nil {
		t.Fatal(err)
	}
	b.crash()

	b2 := startBroker(t, dir, DefaultConfig())
	_, r := connect(t, b2.addr, "sub", false, 3600)
	waitFor(t, "2 messages after restart", func() bool { return len(r.snapshot()) >= 2 })
	got := r.snapshot()
	if string(got[0].Payload) != "durable" || string(got[1].Payload) != "kept" {
		t.Fatalf("got %q %q", got[0].Payload, got[1].Payload)
	}
	// the subscription is restored: a new publish reaches the session
	pub2, _ := connect(t, b2.addr, "pub", true, 0)
	if _, err := publish(pub2, "d/2", "after", 1, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "message after restart", func() bool { return len(r.snapshot()) >= 3 })
	if p := string(r.snapshot()[2].Payload); p != "after" {
		t.Fatalf("got %q", p)
	}
	// the retained message is restored into mochi's index
	other, r2 := connect(t, b2.addr, "other", true, 0)
	subscribe(t, other, "d/r", 1)
	waitFor(t, "retained", func() bool { return len(r2.snapshot()) == 1 })
}

// A failing durable write gets a v5 publisher 0x80 (0x97 for a full disk),
// as a PUBACK for QoS 1 and a PUBREC for QoS 2, never a success ack.
func TestApplyFailureV5(t *testing.T) {
	b := startBroker(t, t.TempDir(), DefaultConfig())
	sub, _ := connect(t, b.addr, "sub", true, 3600)
	subscribe(t, sub, "f", 2)
	pub, _ := connect(t, b.addr, "pub", true, 0)
	for _, tc := range []struct {
		err  error
		want byte
	}{{errInjected, 0x80}, {fmt.Errorf("x: %w", persist.ErrDiskFull), 0x97}} {
		e := tc.err
		b.app.fail.Store(&e)
		for _, qos := range []byte{1, 2} {
			resp, err := publish(pub, "f", "x", qos, false)
			if resp == nil || resp.ReasonCode != tc.want { // paho reports a refused PUBREC with a nil error
				t.Fatalf("qos %d, %v: resp %+v err %v; want code %#x", qos, tc.err, resp, err, tc.want)
			}
		}
	}
	b.app.fail.Store(nil)
	if n, _, _ := b.store.QueueLen("sub"); n != 0 {
		t.Fatalf("%d messages queued by refused publishes", n)
	}
}

// A failing durable write disconnects a 3.1.1 publisher without an ack.
func TestApplyFailureV3(t *testing.T) {
	b := startBroker(t, t.TempDir(), DefaultConfig())
	sub, _ := connect(t, b.addr, "sub", true, 3600)
	subscribe(t, sub, "f", 1)
	lost := make(chan struct{})
	opts := mqtt3.NewClientOptions().AddBroker("tcp://" + b.addr).SetClientID("v3pub").
		SetAutoReconnect(false).SetConnectionLostHandler(func(mqtt3.Client, error) { close(lost) })
	c := mqtt3.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("v3 connect: %v", tok.Error())
	}
	e := error(errInjected)
	b.app.fail.Store(&e)
	tok := c.Publish("f", 1, false, "x")
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("v3 publisher not disconnected")
	}
	if tok.WaitTimeout(100*time.Millisecond) && tok.Error() == nil {
		t.Fatal("v3 publish completed (acked) although not durable")
	}
}

// To an online persistent session QoS 0 goes from memory (no apply) and keeps
// its place among the durable QoS 1 messages of the same publisher.
func TestOnlineMixedQoSOrder(t *testing.T) {
	b := startBroker(t, t.TempDir(), DefaultConfig())
	sub, r := connect(t, b.addr, "sub", true, 3600)
	subscribe(t, sub, "m", 1)
	pub := connectPub(t, b)
	before := b.app.count.Load()
	if _, err := publish(pub, "m", "zero-only", 0, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "qos 0 live", func() bool { return len(r.snapshot()) == 1 })
	if n := b.app.count.Load() - before; n != 0 {
		t.Fatalf("%d applies for a live QoS 0 message", n)
	}
	const n = 30
	for i := range n {
		if _, err := publish(pub, "m", fmt.Sprint(i), byte(i%2), false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "mixed messages", func() bool { return len(r.snapshot()) == n+1 })
	for i, m := range r.snapshot()[1:] {
		if string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("position %d: %q", i, m.Payload)
		}
	}
}

// A session taken over by a second connection with the same client id keeps
// its queue: the new connection's pump continues where the old one stopped.
func TestTakeoverKeepsQueue(t *testing.T) {
	b := startBroker(t, t.TempDir(), DefaultConfig())
	sub, r1 := connect(t, b.addr, "tk", true, 3600)
	subscribe(t, sub, "tk/#", 1)
	pub := connectPub(t, b)
	for i := range 3 {
		if _, err := publish(pub, "tk/a", fmt.Sprint(i), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "first connection's messages", func() bool { return len(r1.snapshot()) == 3 })
	// acked and dequeued: nothing of these is re-sent after the takeover
	waitFor(t, "first acks", func() bool { n, _, _ := b.store.QueueLen("tk"); return n == 0 })
	_, r2 := connect(t, b.addr, "tk", false, 3600)
	for i := 3; i < 6; i++ {
		if _, err := publish(pub, "tk/a", fmt.Sprint(i), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "second connection's messages", func() bool { return len(r2.snapshot()) >= 3 })
	got := r2.snapshot()
	if len(got) != 3 || string(got[0].Payload) != "3" || string(got[2].Payload) != "5" {
		for _, m := range got {
			t.Logf("got %q dup=%v", m.Payload, m.Duplicate())
		}
		t.Fatal("unexpected deliveries after takeover")
	}
	waitFor(t, "queue drained", func() bool { n, _, _ := b.store.QueueLen("tk"); return n == 0 })
}

// TestResumeWithZeroExpiryGetsQueue: an MQTT 5 client that resumes a stored
// session (Clean Start 0) but asks for Session Expiry 0 this time still gets the
// queued messages; the session then ends with the connection (the Paho suite's
// test_offline_message_queueing does exactly this).
func TestResumeWithZeroExpiryGetsQueue(t *testing.T) {
	b := startBroker(t, t.TempDir(), DefaultConfig())
	sub, _ := connect(t, b.addr, "z", true, 99999)
	subscribe(t, sub, "zq/#", 2)
	b.disconnect(t, sub, "z")
	pub, _ := connect(t, b.addr, "zpub", true, 0)
	for qos := byte(0); qos <= 2; qos++ {
		if _, err := publish(pub, "zq/a", fmt.Sprintf("qos %d", qos), qos, false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "enqueue", func() bool { n, _, _ := b.store.QueueLen("z"); return n == 3 })
	c, r := connect(t, b.addr, "z", false, 0)
	waitFor(t, "queued messages", func() bool { return len(r.snapshot()) == 3 })
	b.disconnect(t, c, "z")
	waitFor(t, "session ended", func() bool { _, err := b.store.Session("z"); return err != nil })
}
