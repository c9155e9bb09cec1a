package persist

import (
	"encoding/binary"
	"fmt"
	"math"
)

// opsVersion is the first byte of EncodeOps output.
const opsVersion = 1

// EncodeOps encodes a batch of ops for the raft log. Every op is validated first:
// an invalid op fails the whole call with an error wrapping ErrInvalidOp (and
// ErrInvalidRecord for a bad record), so invalid ops never reach the log.
//
// Layout: version byte, uvarint count, then per op its kind byte and the fields
// its kind uses, in the order of DESIGN.md "Op encoding".
func EncodeOps(ops []Op) ([]byte, error) {
	return AppendOps(nil, ops)
}

// AppendOps is EncodeOps appending to b.
func AppendOps(b []byte, ops []Op) ([]byte, error) {
	start := len(b)
	b = append(b, opsVersion)
	b = binary.AppendUvarint(b, uint64(len(ops)))
	for i := range ops {
		op := &ops[i]
		if err := validateOp(op); err != nil {
			return b[:start], fmt.Errorf("encode op %d: %w", i, err)
		}
		var err error
		if b, err = appendOp(b, op); err != nil {
			return b[:start], fmt.Errorf("encode op %d: %w", i, err)
		}
	}
	if err := checkGuardsFirst(ops); err != nil {
		return b[:start], fmt.Errorf("encode: %w", err)
	}
	if err := checkBodyRefs(ops); err != nil {
		return b[:start], fmt.Errorf("encode: %w", err)
	}
	return b, nil
}

// appendRecord appends a record with appendTo and enforces MaxRecordSize.
func appendRecord(b []byte, what string, appendTo func([]byte) []byte) ([]byte, error) {
	start := len(b)
	b = appendTo(b)
	if n := len(b) - start; n > MaxRecordSize {
		return b[:start], fmt.Errorf("%w: %w", ErrInvalidOp, invalid(what, "encoded size %d above %d", n, MaxRecordSize))
	}
	return b, nil
}

func appendOp(b []byte, op *Op) ([]byte, error) {
	b = append(b, byte(op.Kind))
	switch op.Kind {
	case OpPutSession:
		return appendRecord(b, "session", op.Session.appendTo)
	case OpDeleteSession, OpDequeueThrough:
		b = appendString(b, op.Client)
		if op.Kind == OpDequeueThrough {
			b = binary.AppendUvarint(b, op.Seq)
		}
	case OpPutSubscription:
		b = appendString(b, op.Client)
		return appendRecord(b, "subscription", op.Subscription.appendTo)
	case OpDeleteSubscription:
		b = appendString(b, op.Client)
		b = appendString(b, op.Filter)
	case OpEnqueue:
		b = appendString(b, op.Client)
		return appendRecord(b, "message", op.Message.appendTo)
	case OpPutInflight:
		b = appendString(b, op.Client)
		return appendRecord(b, "inflight", op.Inflight.appendTo)
	case OpDeleteInflight:
		b = appendString(b, op.Client)
		b = append(b, byte(op.Dir))
		b = binary.AppendUvarint(b, uint64(op.PacketID))
	case OpPutRetained:
		return appendRecord(b, "message", op.Message.appendTo)
	case OpDeleteRetained:
		b = appendString(b, op.Topic)
	case OpPutRaw:
		b = appendBytes(b, op.Key)
		b = appendBytes(b, op.Value)
		b = binary.AppendUvarint(b, uint64(op.ExpiresAt))
		b = appendBool(b, op.IfAbsent)
	case OpDeleteRaw:
		b = appendBytes(b, op.Key)
	case OpIncrRaw:
		b = appendBytes(b, op.Key)
		b = binary.AppendUvarint(b, op.Delta)
	case OpAppendRaw:
		b = appendBytes(b, op.Key)
		b = appendBytes(b, op.Prefix)
		b = appendBytes(b, op.DedupKey)
		b = appendBytes(b, op.Value)
		b = binary.AppendUvarint(b, uint64(op.ExpiresAt))
		b = binary.AppendUvarint(b, uint64(len(op.Raise)))
		for _, k := range op.Raise {
			b = appendBytes(b, k)
		}
	case OpMaxRaw:
		b = appendBytes(b, op.Key)
		b = binary.AppendUvarint(b, op.Seq)
	case OpPutBody:
		return appendRecord(b, "message", op.Message.appendTo)
	case OpEnqueueRef, OpStageRef:
		b = appendString(b, op.Client)
		return op.Ref.appendTo(b), nil
	case OpCommitBody, OpDropStaged:
		b = binary.AppendUvarint(b, op.Seq)
	case OpRequireRaw:
		b = appendBytes(b, op.Key)
		b = appendBytes(b, op.Value)
		b = appendBool(b, op.IfAbsent)
	case OpPutRetainedOwned:
		b = appendString(b, op.Owner)
		b = binary.AppendUvarint(b, op.MaxCount)
		b = binary.AppendUvarint(b, op.MaxBytes)
		return appendRecord(b, "message", op.Message.appendTo)
	}
	return b, nil
}

// DecodeOps decodes EncodeOps output. It accepts exactly what EncodeOps produces:
// malformed, truncated, trailing or non-canonical input, an unknown op kind, and an
// op that fails validation all fail with ErrCorruptRecord. It never panics and
// allocates no more than the input length justifies.
func DecodeOps(data []byte) ([]Op, error) {
	d := newDecoder(data, "ops")
	d.version(opsVersion)
	// Every op takes at least 2 bytes (kind + one field).
	n := d.count(2, "ops")
	if d.err != nil {
		return nil, d.err
	}
	ops := make([]Op, n)
	for i := range ops {
		decodeOp(d, &ops[i])
		if d.err != nil {
			return nil, fmt.Errorf("decode op %d: %w", i, d.err)
		}
		if err := validateOp(&ops[i]); err != nil {
			return nil, fmt.Errorf("decode op %d: %w: %w", i, ErrCorruptRecord, err)
		}
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	if err := checkGuardsFirst(ops); err != nil {
		return nil, fmt.Errorf("decode: %w: %w", ErrCorruptRecord, err)
	}
	if err := checkBodyRefs(ops); err != nil {
		return nil, fmt.Errorf("decode: %w: %w", ErrCorruptRecord, err)
	}
	return ops, nil
}

// decodeRecord runs dec and enforces MaxRecordSize on the bytes it consumed.
func decodeRecord(d *decoder, what string, dec func(*decoder)) {
	start := d.off
	dec(d)
	if d.err == nil && d.off-start > MaxRecordSize {
		d.fail("%s of %d bytes above %d", what, d.off-start, MaxRecordSize)
	}
}

func decodeOp(d *decoder, op *Op) {
	op.Kind = OpKind(d.byte1())
	if d.err != nil {
		return
	}
	switch op.Kind {
	case OpPutSession:
		op.Session = &Session{}
		decodeRecord(d, "session", op.Session.decode)
	case OpDeleteSession:
		op.Client = d.str("client")
	case OpDequeueThrough:
		op.Client = d.str("client")
		op.Seq = d.uvarint()
	case OpPutSubscription:
		op.Client = d.str("client")
		op.Subscription = &Subscription{}
		decodeRecord(d, "subscription", op.Subscription.decode)
	case OpDeleteSubscription:
		op.Client = d.str("client")
		op.Filter = d.str("filter")
	case OpEnqueue:
		op.Client = d.str("client")
		op.Message = &Message{}
		decodeRecord(d, "message", op.Message.decode)
	case OpPutInflight:
		op.Client = d.str("client")
		op.Inflight = &Inflight{}
		decodeRecord(d, "inflight", op.Inflight.decode)
	case OpDeleteInflight:
		op.Client = d.str("client")
		op.Dir = InflightDir(d.byte1())
		op.PacketID = uint16(d.uvarintMax(math.MaxUint16, "packet id"))
	case OpPutRetained:
		op.Message = &Message{}
		decodeRecord(d, "message", op.Message.decode)
	case OpDeleteRetained:
		op.Topic = d.str("topic")
	case OpPutRaw:
		op.Key = d.bytes("key")
		op.Value = d.bytes("value")
		op.ExpiresAt = d.int64v("expires at")
		op.IfAbsent = d.boolean("if absent")
	case OpDeleteRaw:
		op.Key = d.bytes("key")
	case OpIncrRaw:
		op.Key = d.bytes("key")
		op.Delta = d.uvarint()
	case OpAppendRaw:
		op.Key = d.bytes("counter key")
		op.Prefix = d.bytes("entry prefix")
		op.DedupKey = d.bytes("dedup key")
		op.Value = d.bytes("value")
		op.ExpiresAt = d.int64v("expires at")
		// Every raise key takes at least its length byte.
		if n := d.count(1, "raise keys"); n > 0 {
			op.Raise = make([][]byte, n)
			for i := range op.Raise {
				op.Raise[i] = d.bytes("raise key")
			}
		}
	case OpMaxRaw:
		op.Key = d.bytes("key")
		op.Seq = d.uvarint()
	case OpPutBody:
		op.Message = &Message{}
		decodeRecord(d, "message", op.Message.decode)
	case OpEnqueueRef, OpStageRef:
		op.Client = d.str("client")
		op.Ref = &QueueRef{}
		op.Ref.decode(d)
	case OpCommitBody, OpDropStaged:
		op.Seq = d.uvarint()
	case OpRequireRaw:
		op.Key = d.bytes("key")
		op.Value = d.bytes("value")
		op.IfAbsent = d.boolean("absent")
	case OpPutRetainedOwned:
		op.Owner = d.str("owner")
		op.MaxCount = d.uvarint()
		op.MaxBytes = d.uvarint()
		op.Message = &Message{}
		decodeRecord(d, "message", op.Message.decode)
	default:
		d.fail("unknown op kind %d", byte(op.Kind))
	}
}
