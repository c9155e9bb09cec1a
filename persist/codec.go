package persist

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Wire primitives shared by every record codec (see DESIGN.md "Record encoding").
//
//   - uvarint: encoding/binary's unsigned varint, minimal form only (a decoder
//     rejects padded forms so that every value has exactly one encoding and a
//     decode-then-encode round trip reproduces the input bytes);
//   - bytes/string: uvarint length, then the bytes;
//   - bool: one byte, 0 or 1; flag bytes reject unknown bits.
//
// Encoders append to a caller's slice; decoders never panic, never read past the
// input and check every length against the bytes that remain before allocating.

// MaxRecordSize is the largest encoded record (message, session, ...) the store
// accepts: 16 MiB. A bigger record is rejected by validation (ErrInvalidOp) so that
// every replica rejects it the same way.
const MaxRecordSize = 16 << 20

// maxVarByteInt is the largest MQTT Variable Byte Integer (subscription identifiers).
const maxVarByteInt = 268_435_455

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// decoder reads primitives from b. The first failure sticks: later reads return
// zero values and err keeps the first reason.
type decoder struct {
	b    []byte
	off  int
	err  error
	what string // record name for error messages
}

func newDecoder(b []byte, what string) *decoder { return &decoder{b: b, what: what} }

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d: %s", ErrCorruptRecord, d.what, d.off, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) byte1() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("truncated")
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		d.fail("truncated varint")
		return 0
	case n < 0:
		d.fail("varint overflows 64 bits")
		return 0
	case n > 1 && d.b[d.off+n-1] == 0:
		d.fail("non-minimal varint")
		return 0
	}
	d.off += n
	return v
}

// uvarintMax reads a uvarint and fails if it is above max.
func (d *decoder) uvarintMax(max uint64, field string) uint64 {
	v := d.uvarint()
	if v > max {
		d.fail("%s %d above %d", field, v, max)
		return 0
	}
	return v
}

// int64v reads a non-negative int64 stored as uvarint.
func (d *decoder) int64v(field string) int64 {
	return int64(d.uvarintMax(math.MaxInt64, field))
}

// length reads a length prefix and checks it against the remaining bytes before
// anything is allocated.
func (d *decoder) length(field string) int {
	v := d.uvarint()
	if d.err != nil {
		return 0
	}
	if v > uint64(d.remaining()) {
		d.fail("%s length %d exceeds the %d bytes left", field, v, d.remaining())
		return 0
	}
	return int(v)
}

// bytes returns a copy of a length-prefixed byte string; nil when empty.
func (d *decoder) bytes(field string) []byte {
	n := d.length(field)
	if d.err != nil || n == 0 {
		return nil
	}
	p := make([]byte, n)
	copy(p, d.b[d.off:d.off+n])
	d.off += n
	return p
}

func (d *decoder) str(field string) string {
	n := d.length(field)
	if d.err != nil || n == 0 {
		return ""
	}
	s := string(d.b[d.off : d.off+n])
	d.off += n
	return s
}

func (d *decoder) boolean(field string) bool {
	c := d.byte1()
	if c > 1 {
		d.fail("%s: bool byte %d", field, c)
	}
	return c == 1
}

// flags reads a flag byte and fails if a bit outside allowed is set.
func (d *decoder) flags(allowed byte, field string) byte {
	c := d.byte1()
	if c&^allowed != 0 {
		d.fail("%s: unknown flag bits %#x", field, c&^allowed)
	}
	return c
}

// version reads the leading version byte and checks it.
func (d *decoder) version(want byte) {
	if v := d.byte1(); d.err == nil && v != want {
		d.fail("unknown version %d", v)
	}
}

// count reads an element count; each element takes at least minSize bytes, so a
// count the remaining input cannot hold fails before a slice is allocated.
func (d *decoder) count(minSize int, field string) int {
	v := d.uvarint()
	if d.err != nil {
		return 0
	}
	if v > uint64(d.remaining()/minSize) {
		d.fail("%s count %d exceeds what %d bytes can hold", field, v, d.remaining())
		return 0
	}
	return int(v)
}

// finish fails on trailing bytes and returns the sticky error.
func (d *decoder) finish() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d trailing bytes", len(d.b)-d.off)
	}
	return d.err
}

func invalid(what, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidRecord, what, fmt.Sprintf(format, args...))
}
