package engine

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/mochi-mqtt/server/v2/packets"
)

// decode decodes one packet body with mochi's codec. It is the engine's one
// decoding entry point (FuzzDecode): a panic inside the codec (mochi #501) is
// turned into ErrMalformed. The returned packet's strings and slices point
// into body, which is only valid during transport.Handler.Packet: callers copy
// what they keep.
func decode(fh packets.FixedHeader, body []byte, version byte) (pk packets.Packet, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: decoder panic: %v", ErrMalformed, r)
		}
	}()
	pk.FixedHeader = fh
	pk.ProtocolVersion = version
	if fh.Remaining != len(body) {
		return pk, fmt.Errorf("%w: remaining length %d, body %d", ErrMalformed, fh.Remaining, len(body))
	}
	switch fh.Type {
	case packets.Connect:
		err = pk.ConnectDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Pubrec:
		err = pk.PubrecDecode(body)
	case packets.Pubrel:
		err = pk.PubrelDecode(body)
	case packets.Pubcomp:
		err = pk.PubcompDecode(body)
	case packets.Subscribe:
		err = pk.SubscribeDecode(body)
	case packets.Unsubscribe:
		err = pk.UnsubscribeDecode(body)
	case packets.Pingreq:
		if len(body) != 0 {
			err = fmt.Errorf("pingreq with a body")
		}
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	case packets.Auth:
		err = pk.AuthDecode(body)
	default:
		// CONNACK, SUBACK, UNSUBACK, PINGRESP and reserved types are never
		// sent by a client [MQTT-2.2.1].
		return pk, fmt.Errorf("%w: packet type %d from a client", ErrProtocol, fh.Type)
	}
	if err != nil {
		return pk, fmt.Errorf("%w: %s: %w", ErrMalformed, packets.PacketNames[fh.Type], err)
	}
	return pk, nil
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encode encodes pk into a new exact-size slice. Encoding errors are
// programming errors of the engine (a PUBLISH without a packet id), so the
// packet is dropped and the error returned for the caller to log.
func encode(pk *packets.Packet) ([]byte, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() { buf.Reset(); bufPool.Put(buf) }()
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackEncode(buf)
	case packets.Publish:
		err = pk.PublishEncode(buf)
	case packets.Puback:
		err = pk.PubackEncode(buf)
	case packets.Pubrec:
		err = pk.PubrecEncode(buf)
	case packets.Pubrel:
		err = pk.PubrelEncode(buf)
	case packets.Pubcomp:
		err = pk.PubcompEncode(buf)
	case packets.Suback:
		err = pk.SubackEncode(buf)
	case packets.Unsuback:
		err = pk.UnsubackEncode(buf)
	case packets.Pingresp:
		err = pk.PingrespEncode(buf)
	case packets.Disconnect:
		err = pk.DisconnectEncode(buf)
	default:
		err = fmt.Errorf("encode packet type %d", pk.FixedHeader.Type)
	}
	if err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

// packetIDOffset returns where the packet id of an encoded QoS > 0 PUBLISH
// sits (after the fixed header and the topic), so one encoding can be
// patched per subscriber.
func packetIDOffset(enc []byte) int {
	i := 1
	for i < len(enc) && enc[i]&0x80 != 0 {
		i++
	}
	i++ // last remaining-length byte
	tl := int(enc[i])<<8 | int(enc[i+1])
	return i + 2 + tl
}
