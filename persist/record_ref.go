package persist

import "encoding/binary"

// A queue entry (q/ key) holds either a Message record (first byte
// messageVersion) or a QueueRef record (first byte refTag): a reference to a
// message body stored once under a/ for many queues (DESIGN.md "Shared
// bodies"). The tag is not a valid Message version, so a build that does not
// know references fails on one with ErrCorruptRecord instead of misreading it.
const refTag = 0x52 // 'R'

// maxRefRecord bounds an encoded QueueRef: a queue entry whose value is
// larger is a Message, so releasing a queue range never reads a big value
// from the value log to find out. 268 subscription identifiers of 4 bytes
// fit easily; validation enforces the bound.
const maxRefRecord = 2048

// QueueRef is one queue's reference to a shared message body (OpPutBody):
// the fields that differ per target, the rest is the body's.
type QueueRef struct {
	// Body is the body id (Result.Seq of its OpPutBody); 0 in an op means the
	// body put by the nearest OpPutBody earlier in the same batch.
	Body uint64
	// QoS and Retain are the effective values for this target.
	QoS    byte
	Retain bool
	// Expiry is the absolute expiry (unix ms, 0 = never); it must equal the
	// body's Message.Expiry (the entry gets the same Badger TTL, see DESIGN.md).
	Expiry int64
	// SubscriptionIDs are this target's subscription identifiers.
	SubscriptionIDs []int
}

func (r *QueueRef) validate() error {
	switch {
	case r.QoS > 2:
		return invalid("queue ref", "qos %d", r.QoS)
	case r.Expiry < 0:
		return invalid("queue ref", "expiry %d < 0", r.Expiry)
	}
	if err := validateSubIDs("queue ref", r.SubscriptionIDs); err != nil {
		return err
	}
	if n := len(r.appendTo(nil)); n > maxRefRecord {
		return invalid("queue ref", "encoded size %d above %d", n, maxRefRecord)
	}
	return nil
}

// appendTo encodes a validated ref: tag, flags (retain), qos, uvarint body,
// uvarint expiry, uvarint count and the subscription ids.
func (r *QueueRef) appendTo(b []byte) []byte {
	var fl byte
	if r.Retain {
		fl |= msgFlagRetain
	}
	b = append(b, refTag, fl, r.QoS)
	b = binary.AppendUvarint(b, r.Body)
	b = binary.AppendUvarint(b, uint64(r.Expiry))
	return appendSubIDs(b, r.SubscriptionIDs)
}

// MarshalBinary encodes r; ErrInvalidRecord for a ref that breaks a rule.
func (r *QueueRef) MarshalBinary() ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	return r.appendTo(make([]byte, 0, 16+4*len(r.SubscriptionIDs))), nil
}

// UnmarshalBinary decodes data into r; ErrCorruptRecord on malformed,
// truncated or trailing input.
func (r *QueueRef) UnmarshalBinary(data []byte) error {
	d := newDecoder(data, "queue ref")
	if len(data) > maxRefRecord {
		d.fail("%d bytes above %d", len(data), maxRefRecord)
		return d.err
	}
	r.decode(d)
	return d.finish()
}

func (r *QueueRef) decode(d *decoder) {
	*r = QueueRef{}
	d.version(refTag)
	fl := d.flags(msgFlagRetain, "queue ref flags")
	r.Retain = fl&msgFlagRetain != 0
	r.QoS = d.byte1()
	if r.QoS > 2 {
		d.fail("qos %d", r.QoS)
	}
	r.Body = d.uvarint()
	r.Expiry = d.int64v("expiry")
	r.SubscriptionIDs = decodeSubIDs(d)
}

// isRefValue reports whether a stored queue value is a QueueRef record.
func isRefValue(v []byte) bool { return len(v) > 0 && v[0] == refTag }

// resolve returns the message a queue reference stands for: the body with
// the target's QoS, retain flag, expiry and subscription identifiers.
func (r *QueueRef) resolve(body Message) Message {
	body.QoS = r.QoS
	body.Retain = r.Retain
	body.Dup = false
	body.PacketID = 0
	body.Expiry = r.Expiry
	body.Properties.SubscriptionIDs = r.SubscriptionIDs
	return body
}

// bodyKey is a/{id be64}: a shared message body.
func bodyKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(pfxBody), id)
}

// bodyRefsKey is t/c{id be64}: the number of queue entries referencing body id.
func bodyRefsKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(pfxBodyRefs), id)
}

// keyBodySeq holds the last body id (be64, no TTL).
var keyBodySeq = []byte("m/body_seq")
