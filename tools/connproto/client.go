package main

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// maxPacket bounds the remaining length the prototype accepts (a real engine takes
// limits.max_packet_size).
const maxPacket = 1 << 20

// errClose asks the connection owner to close the connection (DISCONNECT, or a
// protocol error).
var errClose = errors.New("connproto: close connection")

// client is all the prototype keeps per connection besides the socket (and, in the
// rawconn model, one parked goroutine). Its fields are owned by whichever goroutine
// reads the connection: the connection's goroutine (rawconn) or the poller that
// delivers its data (nbio, which calls back for one connection at a time).
type client struct {
	id        string
	subs      map[string]byte // filter -> granted QoS
	deadline  int64           // unix nanoseconds: keepalive × 1.5 after the last packet
	keepalive uint16
	version   byte // 0 before CONNECT
	auth      byte // the result of authenticate, kept so it is not optimised away
	partial   []byte
}

// feed decodes every complete packet in data (after any partial packet held from the
// previous read), appends the answers to out and keeps the bytes of an incomplete
// trailing packet in c.partial. It returns errClose when the connection must close
// after out is written.
func (c *client) feed(s *stats, data []byte, out *bytes.Buffer) error {
	if len(c.partial) > 0 {
		data = append(c.partial, data...)
		c.partial = nil
		s.partials.Add(-1)
	}
	for len(data) > 0 {
		fh, hdr, ok, err := header(data)
		if err != nil {
			return err
		}
		if !ok || len(data) < hdr+fh.Remaining {
			// Hold the rest, exactly sized, until more arrives.
			c.partial = append(make([]byte, 0, len(data)), data...)
			s.partials.Add(1)
			return nil
		}
		body := data[hdr : hdr+fh.Remaining]
		data = data[hdr+fh.Remaining:]
		if err := c.handle(s, fh, body, out); err != nil {
			return err
		}
	}
	return nil
}

// header decodes a fixed header; ok is false while it is incomplete.
func header(b []byte) (fh packets.FixedHeader, n int, ok bool, err error) {
	if err := fh.Decode(b[0]); err != nil {
		return fh, 0, false, err
	}
	mult, rem := 1, 0
	for i := 1; i < 5; i++ {
		if i >= len(b) {
			return fh, 0, false, nil
		}
		rem += int(b[i]&127) * mult
		if b[i]&128 == 0 {
			if rem > maxPacket {
				return fh, 0, false, packets.ErrPacketTooLarge
			}
			fh.Remaining = rem
			return fh, i + 1, true, nil
		}
		mult *= 128
	}
	return fh, 0, false, packets.ErrMalformedVariableByteInteger
}

// handle answers one packet. The body is copied by the decoders where it is kept
// (mochi's decoders copy strings; the client id is a string).
func (c *client) handle(s *stats, fh packets.FixedHeader, body []byte, out *bytes.Buffer) error {
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: c.version}
	if c.version == 0 && fh.Type != packets.Connect {
		return fmt.Errorf("%w: first packet is not CONNECT", errClose) // [MQTT-3.1.0-1]
	}
	c.deadline = time.Now().Add(time.Duration(c.keepalive) * 1500 * time.Millisecond).UnixNano()
	switch fh.Type {
	case packets.Connect:
		if c.version != 0 {
			return fmt.Errorf("%w: second CONNECT", errClose) // [MQTT-3.1.0-2]
		}
		if err := pk.ConnectDecode(body); err != nil {
			return err
		}
		if code := pk.ConnectValidate(); code != packets.CodeSuccess {
			return fmt.Errorf("%w: connect: %v", errClose, code)
		}
		c.auth = authenticate(s.connectStack) // the heavy part of a real CONNECT
		c.version, c.keepalive = pk.ProtocolVersion, pk.Connect.Keepalive
		c.id = pk.Connect.ClientIdentifier
		c.deadline = time.Now().Add(time.Duration(c.keepalive) * 1500 * time.Millisecond).UnixNano()
		ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ProtocolVersion: c.version}
		return ack.ConnackEncode(out)
	case packets.Subscribe:
		if err := pk.SubscribeDecode(body); err != nil {
			return err
		}
		ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Suback}, ProtocolVersion: c.version, PacketID: pk.PacketID}
		if c.subs == nil {
			c.subs = make(map[string]byte, len(pk.Filters))
		}
		for _, f := range pk.Filters {
			q := min(f.Qos, 1)
			c.subs[f.Filter] = q
			ack.ReasonCodes = append(ack.ReasonCodes, q)
		}
		return ack.SubackEncode(out)
	case packets.Unsubscribe:
		if err := pk.UnsubscribeDecode(body); err != nil {
			return err
		}
		ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsuback}, ProtocolVersion: c.version, PacketID: pk.PacketID}
		for _, f := range pk.Filters {
			delete(c.subs, f.Filter)
			ack.ReasonCodes = append(ack.ReasonCodes, 0)
		}
		return ack.UnsubackEncode(out)
	case packets.Pingreq:
		s.pings.Add(1)
		resp := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingresp}}
		return resp.PingrespEncode(out)
	case packets.Disconnect:
		return errClose
	default:
		// PUBLISH and acks are not part of the idle-connection measurement.
		return fmt.Errorf("%w: packet type %d not handled by the prototype", errClose, fh.Type)
	}
}

// authenticate stands for the call depth of a real CONNECT (bcrypt, JWT checks, a
// raft commit): it uses about n bytes of the calling goroutine's stack.
func authenticate(n int) byte {
	if n <= 0 {
		return 0
	}
	return burn(n / 256)
}

//go:noinline
func burn(depth int) byte {
	var frame [224]byte
	frame[depth%len(frame)] = byte(depth)
	if depth <= 0 {
		return frame[0]
	}
	return burn(depth-1) ^ frame[(depth*7)%len(frame)]
}
