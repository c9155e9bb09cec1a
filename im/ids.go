package im

import (
	"sync"
	"time"
)

// Message ids are 64-bit, time-ordered and unique across the cluster
// (snowflake layout):
//
//	bit 63      0
//	bits 62..22 milliseconds since idEpoch (41 bits, ~69 years)
//	bits 21..12 node id (10 bits, Options.NodeID, unique per node)
//	bits 11..0  sequence within the millisecond (4096 ids per ms per node)
//
// The generator never waits: when the clock goes back or a millisecond's 4096 ids
// are used up it continues from its last millisecond, borrowing from the
// future, so ids stay unique and increasing on one node.
const (
	idEpochMs   = 1_704_067_200_000 // 2024-01-01T00:00:00Z
	idNodeBits  = 10
	idSeqBits   = 12
	maxNodeID   = 1<<idNodeBits - 1
	idSeqMask   = 1<<idSeqBits - 1
	idTimeShift = idNodeBits + idSeqBits
)

// idGen hands out message ids. Safe for concurrent use.
type idGen struct {
	mu     sync.Mutex
	node   uint64
	lastMs int64
	seq    uint64
}

func newIDGen(node uint16) *idGen { return &idGen{node: uint64(node)} }

// next returns a new id for the time now.
func (g *idGen) next(now time.Time) uint64 {
	ms := now.UnixMilli() - idEpochMs
	if ms < 0 {
		ms = 0
	}
	g.mu.Lock()
	if ms > g.lastMs {
		g.lastMs, g.seq = ms, 0
	} else {
		g.seq++
		if g.seq > idSeqMask {
			g.lastMs++
			g.seq = 0
		}
	}
	id := uint64(g.lastMs)<<idTimeShift | g.node<<idSeqBits | g.seq
	g.mu.Unlock()
	return id
}

// IDTime returns the time embedded in a message id.
func IDTime(id uint64) time.Time {
	return time.UnixMilli(int64(id>>idTimeShift) + idEpochMs)
}

// IDNode returns the node id embedded in a message id.
func IDNode(id uint64) uint16 { return uint16(id >> idSeqBits & maxNodeID) }
