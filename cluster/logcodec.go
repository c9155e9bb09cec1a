package cluster

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// Log record format of the Badger log store (the value under key 'l'+index):
//
//	version    1 byte   logRecordVersion (0x01)
//	term       uvarint
//	type       1 byte   raft.LogType
//	appendedAt varint   Unix nanoseconds, 0 for the zero time
//	data       uvarint length + bytes
//	extensions uvarint length + bytes
//
// The index is the key, not part of the value.
const logRecordVersion byte = 0x01

// appendLogRecord appends the encoding of l (without its index) to dst.
func appendLogRecord(dst []byte, l *raft.Log) []byte {
	dst = append(dst, logRecordVersion)
	dst = binary.AppendUvarint(dst, l.Term)
	dst = append(dst, byte(l.Type))
	var at int64
	if !l.AppendedAt.IsZero() {
		at = l.AppendedAt.UnixNano()
	}
	dst = binary.AppendVarint(dst, at)
	dst = binary.AppendUvarint(dst, uint64(len(l.Data)))
	dst = append(dst, l.Data...)
	dst = binary.AppendUvarint(dst, uint64(len(l.Extensions)))
	dst = append(dst, l.Extensions...)
	return dst
}

// logRecordSize is the encoded size of l, for sizing buffers.
func logRecordSize(l *raft.Log) int {
	return 1 + binary.MaxVarintLen64*4 + len(l.Data) + len(l.Extensions)
}

// decodeLogRecord decodes b into l (setting l.Index to index). Data and
// Extensions are copied: b may be Badger's buffer, valid only in its callback.
// Errors wrap ErrLogCorrupt.
func decodeLogRecord(index uint64, b []byte, l *raft.Log) error {
	if len(b) == 0 || b[0] != logRecordVersion {
		return fmt.Errorf("%w: index %d: bad version", ErrLogCorrupt, index)
	}
	rest := b[1:]
	term, n := binary.Uvarint(rest)
	if n <= 0 {
		return fmt.Errorf("%w: index %d: bad term", ErrLogCorrupt, index)
	}
	rest = rest[n:]
	if len(rest) == 0 {
		return fmt.Errorf("%w: index %d: missing type", ErrLogCorrupt, index)
	}
	typ := raft.LogType(rest[0])
	rest = rest[1:]
	at, n := binary.Varint(rest)
	if n <= 0 {
		return fmt.Errorf("%w: index %d: bad timestamp", ErrLogCorrupt, index)
	}
	rest = rest[n:]
	data, rest, err := readBytes(rest)
	if err != nil {
		return fmt.Errorf("%w: index %d: data: %v", ErrLogCorrupt, index, err)
	}
	ext, rest, err := readBytes(rest)
	if err != nil {
		return fmt.Errorf("%w: index %d: extensions: %v", ErrLogCorrupt, index, err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: index %d: %d trailing bytes", ErrLogCorrupt, index, len(rest))
	}
	*l = raft.Log{Index: index, Term: term, Type: typ}
	if len(data) > 0 {
		l.Data = append([]byte(nil), data...)
	}
	if len(ext) > 0 {
		l.Extensions = append([]byte(nil), ext...)
	}
	if at != 0 {
		l.AppendedAt = time.Unix(0, at)
	}
	return nil
}

// readBytes reads a uvarint length and that many bytes.
func readBytes(b []byte) (v, rest []byte, err error) {
	l, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, nil, fmt.Errorf("bad length")
	}
	b = b[n:]
	if l > uint64(len(b)) {
		return nil, nil, fmt.Errorf("length %d exceeds the %d bytes left", l, len(b))
	}
	return b[:l], b[l:], nil
}
