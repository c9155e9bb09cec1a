package route

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Link frames (one direction: the dialling node tells the accepting node):
//
//	frame = type byte, len uvarint, body
//	'H' hello     str(node id)                       first frame
//	'F' full      count uvarint, count x str(filter)  the sender's whole route set
//	'+' add       str(filter)
//	'-' remove    str(filter)
//	'P' publish   see encodePublish
//	'T' takeover  str(client id), at int64 (unix ns the client connected)
//
// str = len uvarint, bytes.
const (
	frameHello    byte = 'H'
	frameFull     byte = 'F'
	frameAdd      byte = '+'
	frameRemove   byte = '-'
	framePublish  byte = 'P'
	frameTakeover byte = 'T'
)

// maxFrameBody bounds a frame body (a publish is at most the broker's packet
// size limit; a full route set of many filters can be large).
const maxFrameBody = 64 << 20

// ErrBadFrame is returned for a link frame that does not decode.
var ErrBadFrame = errors.New("route: malformed link frame")

func appendFrame(dst []byte, typ byte, body []byte) []byte {
	dst = append(dst, typ)
	dst = binary.AppendUvarint(dst, uint64(len(body)))
	return append(dst, body...)
}

func readFrame(r *bufio.Reader) (byte, []byte, error) {
	typ, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, nil, err
	}
	if n > maxFrameBody {
		return 0, nil, fmt.Errorf("%w: %d-byte body", ErrBadFrame, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, nil, err
	}
	return typ, b, nil
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// reader decodes a frame body; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = ErrBadFrame
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = ErrBadFrame
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string { return string(r.bytes()) }

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = ErrBadFrame
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// done returns the decode error, or ErrBadFrame when bytes are left over.
func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		return ErrBadFrame
	}
	return r.err
}

// Publish flags.
const (
	pubPayloadFormat = 1 << iota // PayloadFormat is set (value follows)
	pubExpiry                    // MessageExpiryInterval follows
)

// encodePublish encodes what a remote node needs to deliver pk to its local
// subscribers: QoS, topic, payload and the MQTT 5 properties that travel with
// a message. Retain is not carried (the retained index is replicated through
// raft), nor are topic aliases or subscription identifiers (per connection).
//
//	qos byte, flags byte, [payload_format byte], [expiry uvarint],
//	str(topic), bytes(payload), str(content_type), str(response_topic),
//	bytes(correlation), users uvarint, users x (str(key) str(value)),
//	str(origin)
//
// A frame's body is this followed by appendGroups: the shared subscription
// groups the receiving node is to serve (see forward), which decodePublish
// returns in pk.Filters.
func encodePublish(pk *packets.Packet) []byte {
	p := &pk.Properties
	b := make([]byte, 0, 32+len(pk.TopicName)+len(pk.Payload))
	var flags byte
	if p.PayloadFormatFlag {
		flags |= pubPayloadFormat
	}
	if p.MessageExpiryInterval > 0 {
		flags |= pubExpiry
	}
	b = append(b, pk.FixedHeader.Qos, flags)
	if flags&pubPayloadFormat != 0 {
		b = append(b, p.PayloadFormat)
	}
	if flags&pubExpiry != 0 {
		b = binary.AppendUvarint(b, uint64(p.MessageExpiryInterval))
	}
	b = appendStr(b, pk.TopicName)
	b = appendBytes(b, pk.Payload)
	b = appendStr(b, p.ContentType)
	b = appendStr(b, p.ResponseTopic)
	b = appendBytes(b, p.CorrelationData)
	b = binary.AppendUvarint(b, uint64(len(p.User)))
	for _, u := range p.User {
		b = appendStr(appendStr(b, u.Key), u.Val)
	}
	return appendStr(b, pk.Origin)
}

// decodePublish decodes encodePublish's body into a PUBLISH packet.
func decodePublish(body []byte) (packets.Packet, error) {
	r := &reader{b: body}
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}}
	pk.FixedHeader.Qos = r.byte()
	flags := r.byte()
	if flags&pubPayloadFormat != 0 {
		pk.Properties.PayloadFormat = r.byte()
		pk.Properties.PayloadFormatFlag = true
	}
	if flags&pubExpiry != 0 {
		e := r.uvarint()
		if e > 1<<32-1 {
			r.err = ErrBadFrame
		}
		pk.Properties.MessageExpiryInterval = uint32(e)
	}
	pk.TopicName = r.str()
	if p := r.bytes(); len(p) > 0 {
		pk.Payload = p
	}
	pk.Properties.ContentType = r.str()
	pk.Properties.ResponseTopic = r.str()
	if c := r.bytes(); len(c) > 0 {
		pk.Properties.CorrelationData = c
	}
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = ErrBadFrame
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		pk.Properties.User = append(pk.Properties.User, packets.UserProperty{Key: r.str(), Val: r.str()})
	}
	pk.Origin = r.str()
	groups := r.uvarint()
	if groups > uint64(len(r.b)) {
		r.err = ErrBadFrame
	}
	for i := uint64(0); i < groups && r.err == nil; i++ {
		pk.Filters = append(pk.Filters, packets.Subscription{Filter: r.str()})
	}
	if err := r.done(); err != nil {
		return packets.Packet{}, err
	}
	if pk.FixedHeader.Qos > 2 || flags&^(pubPayloadFormat|pubExpiry) != 0 || pk.TopicName == "" {
		return packets.Packet{}, ErrBadFrame
	}
	return pk, nil
}

// appendGroups appends the shared groups section of a publish frame.
func appendGroups(b []byte, groups []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(groups)))
	for _, g := range groups {
		b = appendStr(b, g)
	}
	return b
}

// encodeFilters encodes a full route set.
func encodeFilters(fs []string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(fs)))
	for _, f := range fs {
		b = appendStr(b, f)
	}
	return b
}

// decodeFilters decodes a full route set.
func decodeFilters(body []byte) ([]string, error) {
	r := &reader{b: body}
	n := r.uvarint()
	if n > uint64(len(body)) {
		return nil, ErrBadFrame
	}
	out := make([]string, 0, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		out = append(out, r.str())
	}
	return out, r.done()
}

// encodeTakeover / decodeTakeover: a client id connected elsewhere at a time.
func encodeTakeover(id string, at int64) []byte {
	return binary.AppendUvarint(appendStr(nil, id), uint64(at))
}

func decodeTakeover(body []byte) (string, int64, error) {
	r := &reader{b: body}
	id := r.str()
	at := r.uvarint()
	return id, int64(at), r.done()
}
