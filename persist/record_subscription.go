package persist

import "encoding/binary"

const subscriptionVersion = 1

// Subscription flag bits.
const (
	subFlagNoLocal byte = 1 << iota
	subFlagRetainAsPublished
	subFlagsAll = subFlagNoLocal | subFlagRetainAsPublished
)

// Subscription is one subscription of a session. Filter may be a shared
// subscription ($share/group/filter); the store does not interpret it.
type Subscription struct {
	Filter            string
	QoS               byte
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte // 0, 1 or 2
	// Identifier is the MQTT 5 Subscription Identifier, 0 = none.
	Identifier uint32
}

func (s *Subscription) validate() error {
	switch {
	case s.Filter == "":
		return invalid("subscription", "empty filter")
	case s.QoS > 2:
		return invalid("subscription", "qos %d", s.QoS)
	case s.RetainHandling > 2:
		return invalid("subscription", "retain handling %d", s.RetainHandling)
	case s.Identifier > maxVarByteInt:
		return invalid("subscription", "identifier %d above %d", s.Identifier, maxVarByteInt)
	case len(s.Filter) > MaxRecordSize:
		return invalid("subscription", "filter of %d bytes", len(s.Filter))
	}
	return nil
}

// AppendBinary appends the encoding of s to b.
func (s *Subscription) AppendBinary(b []byte) ([]byte, error) {
	if err := s.validate(); err != nil {
		return b, err
	}
	return s.appendTo(b), nil
}

func (s *Subscription) appendTo(b []byte) []byte {
	var fl byte
	if s.NoLocal {
		fl |= subFlagNoLocal
	}
	if s.RetainAsPublished {
		fl |= subFlagRetainAsPublished
	}
	b = append(b, subscriptionVersion, fl, s.QoS, s.RetainHandling)
	b = appendString(b, s.Filter)
	return binary.AppendUvarint(b, uint64(s.Identifier))
}

// MarshalBinary encodes s; ErrInvalidRecord for a subscription that breaks a rule.
func (s *Subscription) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary decodes data into s; ErrCorruptRecord on malformed input.
func (s *Subscription) UnmarshalBinary(data []byte) error {
	d := newDecoder(data, "subscription")
	if len(data) > MaxRecordSize {
		return d.tooBig(len(data))
	}
	s.decode(d)
	return d.finish()
}

func (s *Subscription) decode(d *decoder) {
	*s = Subscription{}
	d.version(subscriptionVersion)
	fl := d.flags(subFlagsAll, "subscription flags")
	s.NoLocal = fl&subFlagNoLocal != 0
	s.RetainAsPublished = fl&subFlagRetainAsPublished != 0
	s.QoS = d.byte1()
	if s.QoS > 2 {
		d.fail("qos %d", s.QoS)
	}
	s.RetainHandling = d.byte1()
	if s.RetainHandling > 2 {
		d.fail("retain handling %d", s.RetainHandling)
	}
	s.Filter = d.str("filter")
	if d.err == nil && s.Filter == "" {
		d.fail("empty filter")
	}
	s.Identifier = uint32(d.uvarintMax(maxVarByteInt, "identifier"))
}
