package persist

import (
	"encoding/binary"
	"math"
	"time"
)

const sessionVersion = 1

// NeverExpires is the SessionExpiry of a session that never expires (MQTT 5
// Session Expiry Interval 0xFFFFFFFF).
const NeverExpires = math.MaxUint32

// Session flag bits.
const (
	sessFlagClean byte = 1 << iota
	sessFlagWill
	sessFlagsAll = sessFlagClean | sessFlagWill
)

// Will flag bits.
const (
	willFlagRetain byte = 1 << iota
	willFlagsAll        = willFlagRetain
)

// Will is a session's will message.
type Will struct {
	Topic        string
	Payload      []byte
	QoS          byte
	Retain       bool
	DelaySeconds uint32
	Properties   Properties
}

// Session is a persistent MQTT session.
type Session struct {
	ClientID        string
	Username        string
	ProtocolVersion byte // 3 (3.1), 4 (3.1.1) or 5
	Clean           bool
	// SessionExpiry is the Session Expiry Interval in seconds; NeverExpires means
	// never. The store never expires a session itself (see ExpiredSessions).
	SessionExpiry uint32
	// DisconnectedAt is when the client disconnected, unix milliseconds; 0 means
	// connected.
	DisconnectedAt int64
	Will           *Will
	// NodeID is the node the client is (or was last) connected to.
	NodeID string
}

// ExpiresAt returns the session's expiry deadline in unix milliseconds, and false
// when it has none (connected, or NeverExpires).
func (s *Session) ExpiresAt() (int64, bool) {
	if s.DisconnectedAt == 0 || s.SessionExpiry == NeverExpires {
		return 0, false
	}
	return s.DisconnectedAt + int64(s.SessionExpiry)*1000, true
}

// Expired reports whether the session's expiry deadline is at or before now.
func (s *Session) Expired(now time.Time) bool {
	at, ok := s.ExpiresAt()
	return ok && at <= now.UnixMilli()
}

func (s *Session) validate() error {
	switch {
	case s.ClientID == "":
		return invalid("session", "empty client id")
	case s.ProtocolVersion < 3 || s.ProtocolVersion > 5:
		return invalid("session", "protocol version %d", s.ProtocolVersion)
	case s.DisconnectedAt < 0:
		return invalid("session", "disconnected at %d < 0", s.DisconnectedAt)
	}
	if w := s.Will; w != nil {
		if w.QoS > 2 {
			return invalid("session", "will qos %d", w.QoS)
		}
		return w.Properties.validate("session will")
	}
	return nil
}

// AppendBinary appends the encoding of s to b.
func (s *Session) AppendBinary(b []byte) ([]byte, error) {
	if err := s.validate(); err != nil {
		return b, err
	}
	start := len(b)
	b = s.appendTo(b)
	if len(b)-start > MaxRecordSize {
		return b[:start], invalid("session", "encoded size %d above %d", len(b)-start, MaxRecordSize)
	}
	return b, nil
}

func (s *Session) appendTo(b []byte) []byte {
	b = append(b, sessionVersion)
	var fl byte
	if s.Clean {
		fl |= sessFlagClean
	}
	if s.Will != nil {
		fl |= sessFlagWill
	}
	b = append(b, fl, s.ProtocolVersion)
	b = appendString(b, s.ClientID)
	b = appendString(b, s.Username)
	b = binary.AppendUvarint(b, uint64(s.SessionExpiry))
	b = binary.AppendUvarint(b, uint64(s.DisconnectedAt))
	b = appendString(b, s.NodeID)
	if w := s.Will; w != nil {
		var wf byte
		if w.Retain {
			wf |= willFlagRetain
		}
		b = append(b, wf, w.QoS)
		b = appendString(b, w.Topic)
		b = appendBytes(b, w.Payload)
		b = binary.AppendUvarint(b, uint64(w.DelaySeconds))
		b = w.Properties.appendTo(b)
	}
	return b
}

// MarshalBinary encodes s; ErrInvalidRecord for a session that breaks a field rule.
func (s *Session) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary decodes data into s; ErrCorruptRecord on malformed input.
func (s *Session) UnmarshalBinary(data []byte) error {
	d := newDecoder(data, "session")
	if len(data) > MaxRecordSize {
		return d.tooBig(len(data))
	}
	s.decode(d)
	return d.finish()
}

func (s *Session) decode(d *decoder) {
	*s = Session{}
	d.version(sessionVersion)
	fl := d.flags(sessFlagsAll, "session flags")
	s.Clean = fl&sessFlagClean != 0
	s.ProtocolVersion = d.byte1()
	if d.err == nil && (s.ProtocolVersion < 3 || s.ProtocolVersion > 5) {
		d.fail("protocol version %d", s.ProtocolVersion)
	}
	s.ClientID = d.str("client id")
	if d.err == nil && s.ClientID == "" {
		d.fail("empty client id")
	}
	s.Username = d.str("username")
	s.SessionExpiry = uint32(d.uvarintMax(math.MaxUint32, "session expiry"))
	s.DisconnectedAt = d.int64v("disconnected at")
	s.NodeID = d.str("node id")
	if fl&sessFlagWill != 0 && d.err == nil {
		w := &Will{}
		wf := d.flags(willFlagsAll, "will flags")
		w.Retain = wf&willFlagRetain != 0
		w.QoS = d.byte1()
		if w.QoS > 2 {
			d.fail("will qos %d", w.QoS)
		}
		w.Topic = d.str("will topic")
		w.Payload = d.bytes("will payload")
		w.DelaySeconds = uint32(d.uvarintMax(math.MaxUint32, "will delay"))
		w.Properties.decode(d)
		s.Will = w
	}
}
