package engine

import (
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/hooks/ext"
)

// DisconnectWhere closes every client connected to this node for which
// match returns true, as Kick does: an MQTT 5 client gets DISCONNECT with
// code (0x98 Administrative action for a revoked token or a disabled user),
// a 3.1.1 client is closed; sessions stay. match is called with the
// client's identity (the engine's copy: it must not keep or change it),
// under the session's lock: it must be quick and must not call the engine.
// It returns how many clients were closed. Its cost is one look per
// session: it is for operator actions, not per packet.
func (e *Engine) DisconnectWhere(match func(c *ext.Client) bool, code packets.Code) int {
	n := 0
	for _, s := range e.table() {
		s.mu.Lock()
		cl := s.cl
		hit := cl != nil && !s.ended && match(&cl.info)
		s.mu.Unlock()
		if hit && e.closeClient(cl, code) {
			n++
		}
	}
	return n
}
