package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// presenceOf waits up to within for the next im/presence/{user} message on c
// and returns its status, "" if none came (other messages are kept).
func (c *imClient) presenceOf(t *testing.T, user string, within time.Duration) string {
	t.Helper()
	topic := "im/presence/" + user
	status := func(p *paho.Publish) string {
		var m struct{ Status string }
		if err := json.Unmarshal(p.Payload, &m); err != nil {
			t.Fatalf("presence %q: %v", p.Payload, err)
		}
		return m.Status
	}
	for i, p := range c.backlog {
		if p.Topic == topic {
			c.backlog = append(c.backlog[:i], c.backlog[i+1:]...)
			return status(p)
		}
	}
	deadline := time.After(within)
	for {
		select {
		case p := <-c.msgs:
			if p.Topic == topic {
				return status(p)
			}
			c.backlog = append(c.backlog, p)
		case <-deadline:
			return ""
		}
	}
}

// TestIMPresence: presence follows bob's devices on both engines: online
// at his first device, unchanged while a takeover of that device's client
// id replaces its connection and while a second device comes and goes,
// offline when the last one leaves.
func TestIMPresence(t *testing.T) {
	n := imNodeAuth(t, "", "")
	alice := imConnect(t, n, "alice", "alice-1")
	bob := imConnect(t, n, "bob", "bob-phone")
	alice.send(t, "im/send/user/bob", "p1", "hi") // a shared conversation: presence visible
	alice.subscribe(t, "im/presence/bob", 0)
	if s := alice.presenceOf(t, "bob", 10*time.Second); s != "online" {
		t.Fatalf("bob's presence %q, want online", s)
	}

	// A takeover: the same client id connects again; the old connection is
	// closed by the server and its end is not the device's end.
	bob2 := imConnect(t, n, "bob", "bob-phone")
	select {
	case d := <-bob.discon:
		if d.ReasonCode != 0x8E {
			t.Fatalf("taken over connection: DISCONNECT %#x, want 0x8E", d.ReasonCode)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the taken over connection got no DISCONNECT")
	}
	var seen []string
	for s := alice.presenceOf(t, "bob", time.Second); s != ""; s = alice.presenceOf(t, "bob", time.Second) {
		seen = append(seen, s)
	}
	if len(seen) > 0 {
		// The engine does not report the taken over connection's end
		// (ext.Lifecycle): no change at all.
		t.Fatalf("bob shown %q after a takeover of his device", seen)
	}
	// The device still counts: a message reaches the new connection.
	alice.send(t, "im/send/user/bob", "p2", "still there?")
	if m := bob2.await(t, "msg", nil); m["cid"] != "p2" {
		t.Fatalf("bob's new connection got %v", m)
	}

	laptop := imConnect(t, n, "bob", "bob-laptop")
	laptop.close()
	if s := alice.presenceOf(t, "bob", time.Second); s != "" {
		t.Fatalf("bob shown %q while his phone is connected", s)
	}
	bob2.close()
	if s := alice.presenceOf(t, "bob", 10*time.Second); s != "offline" {
		t.Fatalf("bob's presence %q after his last device left, want offline", s)
	}
}

// TestIMDeviceCap: with im.max_devices 2 a user's third device is refused
// with 0x97 (Quota exceeded) in the CONNACK. A takeover of a device's
// client id is not a new device, and a slot freed is usable again.
func TestIMDeviceCap(t *testing.T) {
	n := imNodeAuth(t, "", "  max_devices: 2\n")
	bob1 := imConnect(t, n, "bob", "bob-1")
	imConnect(t, n, "bob", "bob-2")

	conn, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connectV5(t, conn, "bob-3", "bob", "bob-pw", true)
	if err == nil || c.connack == nil || c.connack.ReasonCode != 0x97 {
		t.Fatalf("third device: %v (CONNACK %+v), want CONNACK 0x97", err, c.connack)
	}

	// The same client id again is the same device.
	again := imConnect(t, n, "bob", "bob-2")
	alice := imConnect(t, n, "alice", "alice-1")
	alice.send(t, "im/send/user/bob", "d1", "hello devices")
	if m := again.await(t, "msg", nil); m["cid"] != "d1" {
		t.Fatalf("bob-2 got %v", m)
	}
	// A freed slot is usable again.
	bob1.close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err = connectV5(t, conn, "bob-3", "bob", "bob-pw", true); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("third device after one left: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIMNativeAcks: a refused request carries its reason code on the MQTT
// 5 PUBREC of a QoS 2 publish as on the PUBACK of a QoS 1 one (the removed
// mochi path answered QoS 2 with a plain PUBREC); an accepted QoS 2 send completes (PUBREL, PUBCOMP) and is acked; a
// QoS 0 send is answered on the ack topic only.
func TestIMNativeAcks(t *testing.T) {
	n := imNodeAuth(t, "", "  rate_limit: {messages_per_second: 0}\n")
	alice := imConnect(t, n, "alice", "alice-1")
	bob := imConnect(t, n, "bob", "bob-1")

	pub := func(qos byte, payload []byte) (byte, error) {
		pr, err := alice.Publish(ctx10s(t), &paho.Publish{Topic: "im/send/user/bob", QoS: qos, Payload: payload})
		if pr == nil {
			return 0, err
		}
		return pr.ReasonCode, nil
	}
	if code, err := pub(2, []byte("not json")); err != nil || code != 0x99 {
		t.Fatalf("QoS 2 refused request: PUBREC %#x (%v), want 0x99", code, err)
	}
	if code, err := pub(1, []byte(`{"cid":"","body":"x"}`)); err != nil || code != 0x99 {
		t.Fatalf("QoS 1 refused request: PUBACK %#x (%v), want 0x99", code, err)
	}
	if code, err := pub(2, []byte(`{"cid":"q2","body":"exactly once"}`)); err != nil || code != 0 {
		t.Fatalf("QoS 2 send: %#x (%v), want 0", code, err)
	}
	if a := alice.await(t, "ack", func(m map[string]any) bool { return m["cid"] == "q2" }); a["ok"] != true || num(t, a, "seq") != 1 {
		t.Fatalf("QoS 2 ack: %v", a)
	}
	if m := bob.await(t, "msg", nil); m["cid"] != "q2" || num(t, m, "seq") != 1 {
		t.Fatalf("bob got %v", m)
	}
	if _, err := pub(0, []byte(`{"cid":"q0","body":"fire and forget"}`)); err != nil {
		t.Fatalf("QoS 0 send: %v", err)
	}
	if a := alice.await(t, "ack", func(m map[string]any) bool { return m["cid"] == "q0" }); a["ok"] != true || num(t, a, "seq") != 2 {
		t.Fatalf("QoS 0 ack: %v", a)
	}
	if _, err := pub(0, []byte(`{"cid":"q0bad","body":""}`)); err != nil {
		t.Fatalf("QoS 0 refused send: %v", err)
	}
	if a := alice.await(t, "ack", func(m map[string]any) bool { return m["cid"] == "q0bad" }); a["ok"] != false || num(t, a, "code") != 0x99 {
		t.Fatalf("QoS 0 refused ack: %v", a)
	}
}
