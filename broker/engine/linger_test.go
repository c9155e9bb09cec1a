package engine

import (
	"net"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/mochi-mqtt/server/v2/packets"
)

// TestLingerAfterDisconnect is Paho's v5 test_flow_control2 in small: the
// client sends Receive Maximum + 1 QoS 2 PUBLISHes before reading, then
// answers each PUBREC with a PUBREL until it sees the DISCONNECT 0x93. The
// server must keep reading (and discarding) after its DISCONNECT: a socket
// closed at once answers the first late PUBREL with a RST, and the client's
// next write fails with a broken pipe before it reads the DISCONNECT.
func TestLingerAfterDisconnect(t *testing.T) {
	te := newTestEngine(t, func(c *Config, _ *transport.Config) { c.ReceiveMaximum = 2 })
	r := dialRaw(t, te.addr, 5)
	r.connect("fc2", true, nil)
	for range 3 {
		r.publish("t", "x", 2, false, nil)
	}
	waitFor(t, "session detached", func() bool {
		te.mu.Lock()
		defer te.mu.Unlock()
		return te.sessions["fc2"] == nil
	})
	for {
		pk := r.recv()
		if pk.FixedHeader.Type == packets.Disconnect {
			if pk.ReasonCode != 0x93 {
				t.Fatalf("DISCONNECT 0x%02x, want 0x93", pk.ReasonCode)
			}
			break
		}
		if pk.FixedHeader.Type != packets.Pubrec {
			t.Fatalf("got %s, want PUBREC or DISCONNECT", packets.PacketNames[pk.FixedHeader.Type])
		}
		r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrel}, PacketID: pk.PacketID})
	}
	r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	// No PINGRESP after the DISCONNECT [MQTT-3.14.4-1]; closed within the linger.
	if pk, err := r.tryRecv(5 * time.Second); err == nil {
		t.Fatalf("got %s after DISCONNECT", packets.PacketNames[pk.FixedHeader.Type])
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection not closed within 5s")
	}
}
