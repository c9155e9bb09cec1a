package persist

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Result codec: how a follower gets the leader's results for a command it
// forwarded (cluster.ResultCodec, satisfied structurally by StateMachine).
//
//	results = 'R', count uvarint, count x result
//	result  = seq uvarint, flags byte (1 found, 2 resumed), count uvarint, err
//	err     = code byte (0 none), then for code > 0: len uvarint, message
//	error   = 'E', err          (a command the state machine refused)
//
// Error codes keep errors.Is working across the wire for the sentinels callers
// test: 1 ErrInvalidOp, 2 ErrCorruptRecord, 3 ErrDiskFull, 4 ErrAlreadyApplied,
// 5 anything else, 6 ErrQuotaExceeded, 7 ErrConflict (after 5, which older
// builds send for every other error: codes are never renumbered).

var resultErrs = []error{nil, ErrInvalidOp, ErrCorruptRecord, ErrDiskFull, ErrAlreadyApplied, nil, ErrQuotaExceeded, ErrConflict}

// codeOther is the code of an error that is none of resultErrs.
const codeOther = 5

// EncodeResult encodes a result of Apply: a []Result or an error.
func (m *StateMachine) EncodeResult(res any) ([]byte, error) {
	switch r := res.(type) {
	case []Result:
		b := binary.AppendUvarint([]byte{'R'}, uint64(len(r)))
		for _, x := range r {
			b = binary.AppendUvarint(b, x.Seq)
			var f byte
			if x.Found {
				f |= 1
			}
			if x.Resumed {
				f |= 2
			}
			b = append(b, f)
			b = binary.AppendUvarint(b, uint64(x.Count))
			b = appendResultErr(b, x.Err)
		}
		return b, nil
	case error:
		return appendResultErr([]byte{'E'}, r), nil
	case nil:
		return []byte{'R', 0}, nil
	default:
		return nil, fmt.Errorf("%w: result of type %T", ErrInvalidRecord, res)
	}
}

func appendResultErr(b []byte, err error) []byte {
	if err == nil {
		return append(b, 0)
	}
	code := byte(codeOther)
	for i, e := range resultErrs[1:] {
		if e != nil && errors.Is(err, e) {
			code = byte(i + 1)
			break
		}
	}
	b = append(b, code)
	b = binary.AppendUvarint(b, uint64(len(err.Error())))
	return append(b, err.Error()...)
}

// DecodeResult decodes what EncodeResult wrote: a []Result, or an error value
// (the leader's state machine refused the command).
func (m *StateMachine) DecodeResult(b []byte) (any, error) {
	bad := fmt.Errorf("%w: forwarded result", ErrCorruptRecord)
	if len(b) == 0 {
		return nil, bad
	}
	kind, b := b[0], b[1:]
	if kind == 'E' {
		err, rest, ok := readResultErr(b)
		if !ok || err == nil || len(rest) != 0 {
			return nil, bad
		}
		return err, nil
	}
	if kind != 'R' {
		return nil, bad
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, bad
	}
	b = b[k:]
	out := make([]Result, n)
	for i := range out {
		seq, k := binary.Uvarint(b)
		if k <= 0 || len(b) < k+1 {
			return nil, bad
		}
		f := b[k]
		b = b[k+1:]
		cnt, k := binary.Uvarint(b)
		if k <= 0 || cnt > 1<<31 {
			return nil, bad
		}
		b = b[k:]
		err, rest, ok := readResultErr(b)
		if !ok {
			return nil, bad
		}
		b = rest
		out[i] = Result{Seq: seq, Found: f&1 != 0, Resumed: f&2 != 0, Count: int(cnt), Err: err}
	}
	if len(b) != 0 {
		return nil, bad
	}
	return out, nil
}

func readResultErr(b []byte) (error, []byte, bool) {
	if len(b) == 0 {
		return nil, nil, false
	}
	code, b := b[0], b[1:]
	if code == 0 {
		return nil, b, true
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	msg := string(b[k : k+int(n)])
	b = b[k+int(n):]
	if int(code) < len(resultErrs) && resultErrs[code] != nil {
		return fmt.Errorf("%w (leader: %s)", resultErrs[code], msg), b, true
	}
	return errors.New(msg), b, true
}
