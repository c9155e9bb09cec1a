package engine

import (
	"sync/atomic"

	"github.com/mochi-mqtt/server/v2/packets"
)

// stats are the engine's counters behind the $SYS topics (sys.go). Each is
// one atomic add on its path; nothing else reads them.
type stats struct {
	started   int64        // unix seconds, set by New
	connected atomic.Int64 // sessions with a connection
	maxConn   atomic.Int64 // the highest connected seen
	pktIn     atomic.Int64 // control packets received after CONNECT
	pktOut    atomic.Int64 // control packets queued to clients
	bytesIn   atomic.Int64 // their remaining lengths plus fixed headers
	bytesOut  atomic.Int64
	msgIn     atomic.Int64 // PUBLISH received
	msgOut    atomic.Int64 // PUBLISH queued to clients
	dropped   atomic.Int64 // messages dropped (Observer.MessageDropped)
}

// online counts a session gaining (+1) or losing (-1) its connection.
func (st *stats) online(d int64) {
	n := st.connected.Add(d)
	for {
		m := st.maxConn.Load()
		if n <= m || st.maxConn.CompareAndSwap(m, n) {
			return
		}
	}
}

// drop counts a dropped message and tells the Observer why.
func (e *Engine) drop(reason string) {
	e.st.dropped.Add(1)
	e.obs.MessageDropped(reason)
}

// headerLen is the size of a fixed header for a remaining length n.
func headerLen(n int) int {
	switch {
	case n < 128:
		return 2
	case n < 16384:
		return 3
	case n < 2097152:
		return 4
	}
	return 5
}

// firstByte rebuilds a packet's first byte (type << 4 | flags), what
// Observer.PacketReceived is given.
func firstByte(fh packets.FixedHeader) byte {
	b := fh.Type << 4
	if fh.Dup {
		b |= 0x08
	}
	b |= fh.Qos << 1
	if fh.Retain {
		b |= 0x01
	}
	return b
}
