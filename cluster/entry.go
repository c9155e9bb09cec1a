package cluster

import (
	"encoding/binary"
	"fmt"
)

// Batch entry format (the Data of every raft LogCommand entry this package
// writes):
//
//	version  1 byte   entryVersion (0x01)
//	count    uvarint  number of commands, >= 1
//	count times:
//	  len    uvarint  command length in bytes
//	  cmd    len bytes
//
// Nothing may follow the last command. Varints are encoding/binary uvarints in
// their shortest form.
const entryVersion byte = 0x01

// entrySize returns the encoded size of an entry holding cmds.
func entrySize(cmds [][]byte) int {
	n := 1 + uvarintLen(uint64(len(cmds)))
	for _, c := range cmds {
		n += uvarintLen(uint64(len(c))) + len(c)
	}
	return n
}

// appendEntry appends the encoding of cmds to dst.
func appendEntry(dst []byte, cmds [][]byte) []byte {
	dst = append(dst, entryVersion)
	dst = binary.AppendUvarint(dst, uint64(len(cmds)))
	for _, c := range cmds {
		dst = binary.AppendUvarint(dst, uint64(len(c)))
		dst = append(dst, c...)
	}
	return dst
}

// decodeEntry decodes a batch entry. The returned commands alias data; dst is
// reused when it has the capacity. Errors wrap ErrBadEntry.
func decodeEntry(data []byte, dst [][]byte) ([][]byte, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadEntry)
	}
	if data[0] != entryVersion {
		return nil, fmt.Errorf("%w: unknown version 0x%02x", ErrBadEntry, data[0])
	}
	rest := data[1:]
	count, n := readUvarint(rest)
	if n <= 0 {
		return nil, fmt.Errorf("%w: bad command count", ErrBadEntry)
	}
	rest = rest[n:]
	// Every command takes at least its one-byte length, so a count above the
	// remaining bytes is corrupt; checking first bounds the allocation.
	if count == 0 || count > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: command count %d does not fit %d bytes", ErrBadEntry, count, len(rest))
	}
	cmds := dst[:0]
	if uint64(cap(cmds)) < count {
		cmds = make([][]byte, 0, count)
	}
	for i := uint64(0); i < count; i++ {
		l, n := readUvarint(rest)
		if n <= 0 {
			return nil, fmt.Errorf("%w: command %d: bad length", ErrBadEntry, i)
		}
		rest = rest[n:]
		if l > uint64(len(rest)) {
			return nil, fmt.Errorf("%w: command %d: length %d exceeds the %d bytes left", ErrBadEntry, i, l, len(rest))
		}
		cmds = append(cmds, rest[:l:l])
		rest = rest[l:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadEntry, len(rest))
	}
	return cmds, nil
}

// readUvarint is binary.Uvarint that also rejects non-shortest encodings, so
// every entry has exactly one encoding. n <= 0 means malformed.
func readUvarint(b []byte) (uint64, int) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, n
	}
	if n != uvarintLen(v) {
		return 0, -1
	}
	return v, n
}

// uvarintLen is the length of the shortest uvarint encoding of v.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
