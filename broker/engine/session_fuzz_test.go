package engine

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// FuzzSession drives random packet sequences from three clients over real
// connections to one engine: every byte picks an operation (connect with a
// version, clean flag and expiry; subscribe; publish at any QoS; acks with
// guessed ids; disconnect with or without will; abrupt close; garbage).
// Afterwards the engine must still answer a fresh client, and once every
// connection is gone no session may still think it is connected (no stuck
// session); cleanup checks the goroutine count (no leak).
func FuzzSession(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte{0x10, 0x21, 0x32, 0x13, 0x24, 0x05, 0x16, 0x27, 0x38, 0x09})
	f.Add([]byte{0x20, 0x22, 0x24, 0x25, 0x26, 0x27, 0x28, 0x2a, 0x2b})
	te := newTestEngine(f, nil)
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 64 {
			ops = ops[:64]
		}
		var conns [3]net.Conn
		defer func() {
			for _, c := range conns {
				if c != nil {
					c.Close()
				}
			}
		}()
		for i, op := range ops {
			k := int(op>>4) % 3
			if conns[k] == nil {
				c, err := net.Dial("tcp", te.addr)
				if err != nil {
					t.Fatal(err)
				}
				conns[k] = c
			}
			v := byte(4 + (op>>6)&1)
			pk := packets.Packet{ProtocolVersion: v, Mods: packets.Mods{AllowResponseInfo: true}}
			id := uint16(i%4 + 1)
			topic := []string{"f/a", "f/b", "$SYS/f", "f/a/b"}[i%4]
			switch op & 0x0f {
			case 0, 1:
				pk.FixedHeader.Type = packets.Connect
				pk.Connect.ProtocolName = []byte("MQTT")
				pk.Connect.ClientIdentifier = fmt.Sprintf("fz%d", k)
				pk.Connect.Clean = op&1 == 0
				pk.Connect.Keepalive = 30
				if op&2 != 0 {
					pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 5, true
					pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillQos = true, topic, byte(i%3)
				}
			case 2, 3:
				pk.FixedHeader = packets.FixedHeader{Type: packets.Subscribe, Qos: 1}
				pk.PacketID = id
				f := []string{"f/#", "f/+", "$share/g/f/a", "#"}[i%4]
				pk.Filters = packets.Subscriptions{{Filter: f, Qos: byte(i % 3), NoLocal: op&1 == 1 && i%4 != 2}}
			case 4, 5, 6:
				q := byte(op % 3)
				pk.FixedHeader = packets.FixedHeader{Type: packets.Publish, Qos: q, Retain: op&0x20 != 0}
				pk.TopicName, pk.Payload = topic, []byte{op}
				if q > 0 {
					pk.PacketID = id
				}
			case 7:
				pk.FixedHeader = packets.FixedHeader{Type: packets.Puback}
				pk.PacketID = id
			case 8:
				pk.FixedHeader = packets.FixedHeader{Type: packets.Pubrec}
				pk.PacketID = id
			case 9:
				pk.FixedHeader = packets.FixedHeader{Type: packets.Pubrel, Qos: 1}
				pk.PacketID = id
			case 10:
				pk.FixedHeader = packets.FixedHeader{Type: packets.Pubcomp}
				pk.PacketID = id
			case 11:
				pk.FixedHeader = packets.FixedHeader{Type: packets.Unsubscribe, Qos: 1}
				pk.PacketID = id
				pk.Filters = packets.Subscriptions{{Filter: "f/#"}}
			case 12:
				pk.FixedHeader = packets.FixedHeader{Type: packets.Disconnect}
				if op&0x20 != 0 {
					pk.ReasonCode = 0x04
				}
			case 13:
				conns[k].Close()
				conns[k] = nil
				continue
			case 14:
				conns[k].Write([]byte{op, 0x02, op, 0xff})
				continue
			case 15:
				pk.FixedHeader = packets.FixedHeader{Type: packets.Pingreq}
			}
			b, err := encodeClient(pk)
			if err != nil {
				continue
			}
			conns[k].Write(b) // errors: the server closed it, which is allowed
		}
		for k, c := range conns {
			if c != nil {
				c.Close()
				conns[k] = nil
			}
		}
		// Alive: a fresh client connects and pings.
		r := dialRaw(t, te.addr, 5)
		r.connect("fz-probe", true, nil)
		r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
		r.expect(packets.Pingresp)
		r.c.Close()
		// Not stuck: every fuzz session gets detached.
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := 0
			te.mu.Lock()
			for _, s := range te.sessions {
				s.mu.Lock()
				if s.cl != nil {
					n++
				}
				s.mu.Unlock()
			}
			te.mu.Unlock()
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d sessions still attached after every connection closed", n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}
