package engine

import (
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

func TestConnectV311AndV5(t *testing.T) {
	te := newTestEngine(t, nil)
	for _, v := range []byte{3, 4, 5} {
		r := dialRaw(t, te.addr, v)
		ca := r.connect("c", true, nil)
		if ca.ReasonCode != 0 || ca.SessionPresent {
			t.Fatalf("v%d: CONNACK code 0x%02x present %v", v, ca.ReasonCode, ca.SessionPresent)
		}
		if v == 5 {
			p := ca.Properties
			if p.ReceiveMaximum != 1024 || p.MaximumPacketSize != 1<<20 || p.TopicAliasMaximum != 65535 {
				t.Fatalf("v5 CONNACK properties %+v", p)
			}
		}
		r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
		r.expect(packets.Pingresp) // [MQTT-3.12.4-1]
		r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
		r.expectClosed()
	}
}

func TestConnectAssignedClientID(t *testing.T) {
	te := newTestEngine(t, nil)
	r := dialRaw(t, te.addr, 5)
	ca := r.connect("", false, nil)
	if ca.ReasonCode != 0 || ca.Properties.AssignedClientID == "" {
		t.Fatalf("v5 empty id: code 0x%02x assigned %q", ca.ReasonCode, ca.Properties.AssignedClientID)
	}
	// 3.1.1: an empty id with clean session 0 is refused [MQTT-3.1.3-8].
	r4 := dialRaw(t, te.addr, 4)
	if ca := r4.connect("", false, nil); ca.ReasonCode != 2 {
		t.Fatalf("3.1.1 empty id, persistent: return code %d, want 2", ca.ReasonCode)
	}
	r4.expectClosed()
	r4 = dialRaw(t, te.addr, 4)
	if ca := r4.connect("", true, nil); ca.ReasonCode != 0 {
		t.Fatalf("3.1.1 empty id, clean: return code %d, want 0", ca.ReasonCode)
	}
}

func TestConnectFirstPacketMustBeConnect(t *testing.T) {
	te := newTestEngine(t, nil)
	r := dialRaw(t, te.addr, 4)
	r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	r.expectClosed() // [MQTT-3.1.0-1]
	r = dialRaw(t, te.addr, 4)
	r.connect("x", true, nil)
	r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, Connect: packets.ConnectParams{ClientIdentifier: "x", Clean: true}})
	r.expectClosed() // [MQTT-3.1.0-2]
}

func TestConnectBadVersion(t *testing.T) {
	te := newTestEngine(t, nil)
	r := dialRaw(t, te.addr, 4)
	// MQTT level 6 does not exist: CONNACK 1 then close [MQTT-3.1.2-2].
	r.write([]byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 6, 2, 0, 60, 0, 0})
	if ca := r.expect(packets.Connack); ca.ReasonCode != 1 {
		t.Fatalf("return code %d, want 1", ca.ReasonCode)
	}
	r.expectClosed()
}

func TestTakeover(t *testing.T) {
	te := newTestEngine(t, nil)
	old := dialRaw(t, te.addr, 5)
	old.connect("same", false, func(pk *packets.Packet) {
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 60, true
	})
	old.subscribe("t", 1, nil)
	nw := dialRaw(t, te.addr, 5)
	ca := nw.connect("same", false, func(pk *packets.Packet) {
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 60, true
	})
	if !ca.SessionPresent {
		t.Fatal("takeover of a persistent session: session present 0")
	}
	if d := old.expect(packets.Disconnect); d.ReasonCode != 0x8E { // [MQTT-3.1.4-3]
		t.Fatalf("old connection got DISCONNECT 0x%02x, want 0x8E", d.ReasonCode)
	}
	old.expectClosed()
	// The subscription moved with the session.
	p := dialRaw(t, te.addr, 5)
	p.connect("pub", true, nil)
	p.publish("t", "hi", 0, false, nil)
	if m := nw.expect(packets.Publish); string(m.Payload) != "hi" {
		t.Fatalf("payload %q", m.Payload)
	}
}

func TestKeepaliveServerValue(t *testing.T) {
	te := newTestEngine(t, nil)
	r := dialRaw(t, te.addr, 5)
	ca := r.connect("k", true, func(pk *packets.Packet) { pk.Connect.Keepalive = 0 })
	if !ca.Properties.ServerKeepAliveFlag || ca.Properties.ServerKeepAlive != 600 { // [MQTT-3.2.2-21]
		t.Fatalf("Server Keep Alive %v %d, want 600", ca.Properties.ServerKeepAliveFlag, ca.Properties.ServerKeepAlive)
	}
}
