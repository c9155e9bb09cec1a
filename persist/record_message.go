package persist

import (
	"encoding/binary"
	"math"
	"time"
)

const messageVersion = 1

// Message flag bits.
const (
	msgFlagRetain byte = 1 << iota
	msgFlagDup
	msgFlagsAll = msgFlagRetain | msgFlagDup
)

// UserProperty is one MQTT 5 user property; order and duplicates are kept.
type UserProperty struct {
	Key   string
	Value string
}

// Properties are the MQTT 5 publish properties the store keeps with a message or a
// will. Zero values mean "absent".
type Properties struct {
	// PayloadFormat is 0 (unspecified bytes) or 1 (UTF-8).
	PayloadFormat   byte
	ContentType     string
	ResponseTopic   string
	CorrelationData []byte
	UserProperties  []UserProperty
	// MessageExpiry is the Message Expiry Interval (seconds) as received; the
	// absolute deadline is Message.Expiry.
	MessageExpiry uint32
	// SubscriptionIDs are the subscription identifiers (1..268435455) to send with
	// the delivery.
	SubscriptionIDs []int
}

// Message is a stored PUBLISH: queued for a session, in flight, or retained.
type Message struct {
	Topic    string
	Payload  []byte
	QoS      byte
	Retain   bool
	Dup      bool
	PacketID uint16
	// Created is when the broker accepted the message, unix milliseconds.
	Created int64
	// Expiry is the absolute expiry, unix milliseconds; 0 = never. Stored entries
	// with an Expiry also get a Badger TTL (rounded up to the second).
	Expiry int64
	// Origin is the client id of the publisher (for No Local and diagnostics).
	Origin     string
	Properties Properties
}

// Expired reports whether the message has an expiry at or before now.
func (m *Message) Expired(now time.Time) bool {
	return m.Expiry != 0 && m.Expiry <= now.UnixMilli()
}

func (p *Properties) validate(what string) error {
	if p.PayloadFormat > 1 {
		return invalid(what, "payload format %d (want 0 or 1)", p.PayloadFormat)
	}
	return validateSubIDs(what, p.SubscriptionIDs)
}

func (p *Properties) appendTo(b []byte) []byte {
	b = append(b, p.PayloadFormat)
	b = appendString(b, p.ContentType)
	b = appendString(b, p.ResponseTopic)
	b = appendBytes(b, p.CorrelationData)
	b = binary.AppendUvarint(b, uint64(p.MessageExpiry))
	b = binary.AppendUvarint(b, uint64(len(p.UserProperties)))
	for _, up := range p.UserProperties {
		b = appendString(b, up.Key)
		b = appendString(b, up.Value)
	}
	return appendSubIDs(b, p.SubscriptionIDs)
}

func (p *Properties) decode(d *decoder) {
	p.PayloadFormat = d.byte1()
	if p.PayloadFormat > 1 {
		d.fail("payload format %d", p.PayloadFormat)
	}
	p.ContentType = d.str("content type")
	p.ResponseTopic = d.str("response topic")
	p.CorrelationData = d.bytes("correlation data")
	p.MessageExpiry = uint32(d.uvarintMax(math.MaxUint32, "message expiry"))
	if n := d.count(2, "user properties"); n > 0 {
		p.UserProperties = make([]UserProperty, n)
		for i := range p.UserProperties {
			p.UserProperties[i].Key = d.str("user property key")
			p.UserProperties[i].Value = d.str("user property value")
		}
	}
	p.SubscriptionIDs = decodeSubIDs(d)
}

// decodeSubIDs reads a count and that many subscription identifiers
// (1..268 435 455 each); nil for none.
func decodeSubIDs(d *decoder) []int {
	n := d.count(1, "subscription ids")
	if n == 0 {
		return nil
	}
	ids := make([]int, n)
	for i := range ids {
		id := d.uvarintMax(maxVarByteInt, "subscription id")
		if id == 0 && d.err == nil {
			d.fail("subscription id 0")
		}
		ids[i] = int(id)
	}
	return ids
}

// appendSubIDs appends a count and the subscription identifiers.
func appendSubIDs(b []byte, ids []int) []byte {
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = binary.AppendUvarint(b, uint64(id))
	}
	return b
}

// validateSubIDs checks subscription identifiers.
func validateSubIDs(what string, ids []int) error {
	for i, id := range ids {
		if id < 1 || id > maxVarByteInt {
			return invalid(what, "subscription id [%d] %d out of 1..%d", i, id, maxVarByteInt)
		}
	}
	return nil
}

func (m *Message) validate() error {
	switch {
	case m.QoS > 2:
		return invalid("message", "qos %d", m.QoS)
	case m.Created < 0:
		return invalid("message", "created %d < 0", m.Created)
	case m.Expiry < 0:
		return invalid("message", "expiry %d < 0", m.Expiry)
	}
	return m.Properties.validate("message")
}

// AppendBinary appends the encoding of m to b (encoding.BinaryAppender).
func (m *Message) AppendBinary(b []byte) ([]byte, error) {
	if err := m.validate(); err != nil {
		return b, err
	}
	start := len(b)
	b = m.appendTo(b)
	if len(b)-start > MaxRecordSize {
		return b[:start], invalid("message", "encoded size %d above %d", len(b)-start, MaxRecordSize)
	}
	return b, nil
}

// appendTo encodes a validated message.
func (m *Message) appendTo(b []byte) []byte {
	b = append(b, messageVersion)
	var fl byte
	if m.Retain {
		fl |= msgFlagRetain
	}
	if m.Dup {
		fl |= msgFlagDup
	}
	b = append(b, fl, m.QoS)
	b = appendString(b, m.Topic)
	b = appendBytes(b, m.Payload)
	b = binary.AppendUvarint(b, uint64(m.PacketID))
	b = binary.AppendUvarint(b, uint64(m.Created))
	b = binary.AppendUvarint(b, uint64(m.Expiry))
	b = appendString(b, m.Origin)
	return m.Properties.appendTo(b)
}

// MarshalBinary encodes m (encoding.BinaryMarshaler). It fails with
// ErrInvalidRecord for a message that breaks a field rule.
func (m *Message) MarshalBinary() ([]byte, error) {
	return m.AppendBinary(make([]byte, 0, m.sizeHint()))
}

func (m *Message) sizeHint() int {
	return 32 + len(m.Topic) + len(m.Payload) + len(m.Origin) + len(m.Properties.ContentType) +
		len(m.Properties.ResponseTopic) + len(m.Properties.CorrelationData) + 16*len(m.Properties.UserProperties)
}

// UnmarshalBinary decodes data into m, replacing its contents. Any malformed,
// truncated or trailing input fails with ErrCorruptRecord.
func (m *Message) UnmarshalBinary(data []byte) error {
	if len(data) > MaxRecordSize {
		return newDecoder(nil, "message").tooBig(len(data))
	}
	d := newDecoder(data, "message")
	m.decode(d)
	return d.finish()
}

func (m *Message) decode(d *decoder) {
	*m = Message{}
	d.version(messageVersion)
	fl := d.flags(msgFlagsAll, "message flags")
	m.Retain = fl&msgFlagRetain != 0
	m.Dup = fl&msgFlagDup != 0
	m.QoS = d.byte1()
	if m.QoS > 2 {
		d.fail("qos %d", m.QoS)
	}
	m.Topic = d.str("topic")
	m.Payload = d.bytes("payload")
	m.PacketID = uint16(d.uvarintMax(math.MaxUint16, "packet id"))
	m.Created = d.int64v("created")
	m.Expiry = d.int64v("expiry")
	m.Origin = d.str("origin")
	m.Properties.decode(d)
}

func (d *decoder) tooBig(n int) error {
	d.fail("%d bytes above the %d byte record limit", n, MaxRecordSize)
	return d.err
}
