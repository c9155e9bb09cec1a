package engine

import (
	"fmt"
	"github.com/mochi-mqtt/server/v2/packets"
	"time"
)

// disconnect handles the client's DISCONNECT: 0x04 keeps the will for
// publishing [MQTT-3.14.4-3 exception], any other reason discards it; a v5
// Session Expiry Interval on DISCONNECT replaces the CONNECT's
// [MQTT-3.14.2-2]. The returned error closes the connection (Closed follows).
func (cl *client) disconnect(pk *packets.Packet) error {
	s := cl.s
	if cl.v5() && pk.Properties.SessionExpiryIntervalFlag {
		x := pk.Properties.SessionExpiryInterval
		s.mu.Lock()
		if s.expiry == 0 && x != 0 {
			s.mu.Unlock()
			return fmt.Errorf("%w: session expiry set on DISCONNECT after 0 at CONNECT [MQTT-3.14.2-2]", ErrProtocol)
		}
		if max := uint32(cl.e.cfg.MaxSessionExpiry / time.Second); x > max {
			x = max
		}
		s.expiry = x
		s.mu.Unlock()
	}
	err := ErrNormal
	if cl.v5() && pk.ReasonCode == 0x04 {
		err = ErrDisconnectWithWill
	} else {
		s.mu.Lock()
		cl.will = nil // [MQTT-3.14.4-3]
		s.mu.Unlock()
	}
	cl.e.detach(cl, err)
	return err
}
