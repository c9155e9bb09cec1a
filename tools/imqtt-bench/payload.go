package main

import (
	"encoding/binary"
	"time"
)

// headerLen is the size of the header at the start of every payload:
// send time (int64 ns since the run's epoch), publisher index (uint32), sequence (uint64).
const headerLen = 20

// clock gives monotonic nanoseconds since its creation.
type clock struct{ epoch time.Time }

func newClock() clock { return clock{epoch: time.Now()} }

func (c clock) now() int64 { return int64(time.Since(c.epoch)) }

func putHeader(p []byte, sentNS int64, pub uint32, seq uint64) {
	binary.BigEndian.PutUint64(p, uint64(sentNS))
	binary.BigEndian.PutUint32(p[8:], pub)
	binary.BigEndian.PutUint64(p[12:], seq)
}

// getHeader parses a payload header; ok is false when the payload is too short.
func getHeader(p []byte) (sentNS int64, pub uint32, seq uint64, ok bool) {
	if len(p) < headerLen {
		return 0, 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(p)), binary.BigEndian.Uint32(p[8:]), binary.BigEndian.Uint64(p[12:]), true
}

// bitmap is a growable set of sequence numbers.
type bitmap []uint64

// set adds seq and reports whether it was already present.
func (b *bitmap) set(seq uint64) (dup bool) {
	w := seq / 64
	if w >= uint64(len(*b)) {
		if w > 1<<26 { // 4G sequence numbers: corrupt header
			return false
		}
		n := make(bitmap, w+1+w/2)
		copy(n, *b)
		*b = n
	}
	m := uint64(1) << (seq % 64)
	dup = (*b)[w]&m != 0
	(*b)[w] |= m
	return dup
}

func (b bitmap) has(seq uint64) bool {
	w := seq / 64
	return w < uint64(len(b)) && b[w]&(1<<(seq%64)) != 0
}
