package persist

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
)

// Snapshot stream format, version 1 (DESIGN.md "Snapshots"):
//
//	magic      "IMQTSNAP"
//	version    1 byte (1)
//	index      uvarint: AppliedIndex at the snapshot
//	frames     per key, in key order: 0x01, uvarint key length, key,
//	           uvarint value length, value, uvarint Badger ExpiresAt (unix s, 0 = none)
//	end        0x00, uvarint frame count
//	checksum   4 bytes, big-endian CRC-32C of every byte before it
//
// The local records m/schema and m/node_id are not part of a snapshot.
const (
	snapshotMagic   = "IMQTSNAP"
	snapshotVersion = 1
	frameKV         = 1
	frameEnd        = 0
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// isLocalKey reports keys that belong to this node, not to the replicated state.
func isLocalKey(k []byte) bool {
	return bytes.Equal(k, keySchema) || bytes.Equal(k, keyNodeID)
}

// SnapshotView is a point-in-time read of the store, captured between two
// Applies. The raft FSM takes one in Snapshot (fast) and writes it in Persist
// (slow, concurrent with later Applies). Release it when done: Close and Restore
// wait for unreleased views.
type SnapshotView struct {
	g     *gen
	txn   *badger.Txn
	index uint64
	once  sync.Once
	mu    sync.Mutex // serialises WriteTo and Release
	done  bool
}

// BeginSnapshot captures the current state. It waits for an Apply in progress.
func (s *Store) BeginSnapshot() (*SnapshotView, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	g, err := s.acquire()
	if err != nil {
		return nil, err
	}
	return &SnapshotView{g: g, txn: g.db.NewTransaction(false), index: s.applied.Load()}, nil
}

// Index is the AppliedIndex the view was captured at.
func (v *SnapshotView) Index() uint64 { return v.index }

// Release ends the view; it is idempotent.
func (v *SnapshotView) Release() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.once.Do(func() {
		v.done = true
		v.txn.Discard()
		v.g.release()
	})
}

// countWriter counts bytes written to w.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteTo streams the view to w in the snapshot format and returns the bytes
// written.
func (v *SnapshotView) WriteTo(w io.Writer) (int64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.done {
		return 0, fmt.Errorf("snapshot view: %w", ErrClosed)
	}
	cw := &countWriter{w: w}
	h := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(cw, h), 64<<10)
	var hdr []byte
	hdr = append(hdr, snapshotMagic...)
	hdr = append(hdr, snapshotVersion)
	hdr = binary.AppendUvarint(hdr, v.index)
	if _, err := bw.Write(hdr); err != nil {
		return cw.n, err
	}
	var count uint64
	var frame []byte
	it := v.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64})
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		if isLocalKey(k) {
			continue
		}
		err := item.Value(func(val []byte) error {
			frame = append(frame[:0], frameKV)
			frame = appendBytes(frame, k)
			frame = binary.AppendUvarint(frame, uint64(len(val)))
			if _, err := bw.Write(frame); err != nil {
				return err
			}
			if _, err := bw.Write(val); err != nil {
				return err
			}
			frame = binary.AppendUvarint(frame[:0], item.ExpiresAt())
			_, err := bw.Write(frame)
			return err
		})
		if err != nil {
			it.Close()
			return cw.n, fmt.Errorf("snapshot key %q: %w", truncKey(k), mapReadErr(err))
		}
		count++
	}
	it.Close()
	frame = append(frame[:0], frameEnd)
	frame = binary.AppendUvarint(frame, count)
	if _, err := bw.Write(frame); err != nil {
		return cw.n, err
	}
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	if _, err := cw.Write(binary.BigEndian.AppendUint32(nil, h.Sum32())); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

// Snapshot writes a consistent point-in-time copy of the replicated state to w
// (BeginSnapshot, WriteTo, Release).
func (s *Store) Snapshot(w io.Writer) error {
	v, err := s.BeginSnapshot()
	if err != nil {
		return err
	}
	defer v.Release()
	_, err = v.WriteTo(w)
	return err
}

// hashReader reads through a bufio.Reader and hashes every byte consumed.
type hashReader struct {
	r   *bufio.Reader
	h   hash.Hash32
	n   int64
	one [1]byte
	err error // the last error ReadByte got from r
}

func (h *hashReader) ReadByte() (byte, error) {
	c, err := h.r.ReadByte()
	if err == nil {
		h.one[0] = c
		h.h.Write(h.one[:])
		h.n++
	}
	h.err = err
	return c, err
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}
