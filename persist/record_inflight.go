package persist

import (
	"encoding/binary"
	"math"
)

const inflightVersion = 1

// Inflight flag bits.
const (
	inflFlagReleased byte = 1 << iota
	inflFlagsAll          = inflFlagReleased
)

// InflightDir says which way an in-flight message travels.
type InflightDir byte

// Inflight directions; the byte values appear in keys.
const (
	// Outbound: server -> client (a delivery awaiting PUBACK / PUBREC / PUBCOMP).
	Outbound InflightDir = 'o'
	// Inbound: client -> server (a QoS 2 PUBLISH awaiting PUBREL).
	Inbound InflightDir = 'i'
)

// Valid reports whether d is Outbound or Inbound.
func (d InflightDir) Valid() bool { return d == Outbound || d == Inbound }

// Inflight is a QoS 1/2 message in flight on a session, keyed by direction and
// packet id.
type Inflight struct {
	Dir      InflightDir
	PacketID uint16
	// Released is set for an outbound QoS 2 message once PUBREC was received (the
	// PUBREL phase: resend PUBREL, not PUBLISH) and for an inbound QoS 2 message once
	// it was delivered onwards.
	Released bool
	Message  Message
}

func (f *Inflight) validate() error {
	switch {
	case !f.Dir.Valid():
		return invalid("inflight", "direction %q", byte(f.Dir))
	case f.PacketID == 0:
		return invalid("inflight", "packet id 0")
	}
	return f.Message.validate()
}

// AppendBinary appends the encoding of f to b.
func (f *Inflight) AppendBinary(b []byte) ([]byte, error) {
	if err := f.validate(); err != nil {
		return b, err
	}
	start := len(b)
	b = f.appendTo(b)
	if len(b)-start > MaxRecordSize {
		return b[:start], invalid("inflight", "encoded size %d above %d", len(b)-start, MaxRecordSize)
	}
	return b, nil
}

func (f *Inflight) appendTo(b []byte) []byte {
	var fl byte
	if f.Released {
		fl |= inflFlagReleased
	}
	b = append(b, inflightVersion, byte(f.Dir), fl)
	b = binary.AppendUvarint(b, uint64(f.PacketID))
	return f.Message.appendTo(b)
}

// MarshalBinary encodes f; ErrInvalidRecord for a record that breaks a rule.
func (f *Inflight) MarshalBinary() ([]byte, error) {
	return f.AppendBinary(make([]byte, 0, 8+f.Message.sizeHint()))
}

// UnmarshalBinary decodes data into f; ErrCorruptRecord on malformed input.
func (f *Inflight) UnmarshalBinary(data []byte) error {
	d := newDecoder(data, "inflight")
	if len(data) > MaxRecordSize {
		return d.tooBig(len(data))
	}
	f.decode(d)
	return d.finish()
}

func (f *Inflight) decode(d *decoder) {
	*f = Inflight{}
	d.version(inflightVersion)
	f.Dir = InflightDir(d.byte1())
	if d.err == nil && !f.Dir.Valid() {
		d.fail("direction %q", byte(f.Dir))
	}
	fl := d.flags(inflFlagsAll, "inflight flags")
	f.Released = fl&inflFlagReleased != 0
	f.PacketID = uint16(d.uvarintMax(math.MaxUint16, "packet id"))
	if d.err == nil && f.PacketID == 0 {
		d.fail("packet id 0")
	}
	if d.err == nil {
		f.Message.decode(d)
	}
}
