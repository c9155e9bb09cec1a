package im

import (
	"reflect"
	"runtime"
	"sync/atomic"
	"unsafe"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// corker is a connection that can hold its writes (broker/listen's TCP and
// TLS connections, listen/cork.go): the ack of a request and mochi's PUBACK
// then leave in one write instead of two.
type corker interface {
	Cork()
	Corked() bool
	Uncork()
}

// pendingWrites reads how many packets mochi has queued for a client and not
// yet written (ClientState.outboundQty: incremented when a packet is queued,
// decremented after the write loop wrote it). It is unexported in mochi; its
// offset is found once with reflect and the value read atomically, as mochi
// writes it. ok is false when the field is not there (another mochi version):
// the hook then does not wait for the write loop.
type pendingWrites struct {
	offset uintptr
	ok     bool
}

func newPendingWrites() pendingWrites {
	f, ok := reflect.TypeOf(mqtt.ClientState{}).FieldByName("outboundQty")
	if !ok || f.Type.Kind() != reflect.Int32 || len(f.Index) != 1 {
		return pendingWrites{}
	}
	return pendingWrites{offset: f.Offset, ok: true}
}

// of returns cl's count of queued, unwritten packets.
func (p pendingWrites) of(cl *mqtt.Client) int32 {
	if !p.ok {
		return 0
	}
	return atomic.LoadInt32((*int32)(unsafe.Add(unsafe.Pointer(&cl.State), p.offset)))
}

// maxAckYields bounds how often the reader yields to the client's write loop
// so the ack it queued is written into the cork (a yield is a fraction of a
// microsecond; a write(2) several).
const maxAckYields = 4

// release lets the write loop write the ack queued while the connection was
// corked (it runs on this P once the reader yields), then writes everything
// held — the ack and the PUBACK — at once.
func (h *Hook) release(cl *mqtt.Client, k corker) {
	for i := 0; i < maxAckYields && h.pending.of(cl) > 0; i++ {
		runtime.Gosched()
	}
	k.Uncork()
}
