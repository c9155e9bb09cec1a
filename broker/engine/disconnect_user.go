package engine

import "github.com/mochi-mqtt/server/v2/packets"

// DisconnectUser ends every connection on this node whose authenticated user
// is user, as Kick does for one client: an MQTT 5 client gets DISCONNECT
// with reason code code (packets.ErrAdministrativeAction, 0x98, when the
// operator disabled or deleted the user) [MQTT-3.14.2-1], a 3.1.1 client is
// closed. Sessions stay, as after any connection loss. It returns how many
// connections it closed. Safe for concurrent use; it takes each session's
// lock in turn, never two at once.
func (e *Engine) DisconnectUser(user string, code byte) int {
	if user == "" {
		return 0 // anonymous clients are nobody's devices
	}
	reason := packets.Code{Code: code}
	if code == packets.ErrAdministrativeAction.Code {
		reason = packets.ErrAdministrativeAction
	}
	n := 0
	for _, s := range e.table() {
		s.mu.Lock()
		cl := s.cl
		if cl == nil || s.ended || s.user != user {
			s.mu.Unlock()
			continue
		}
		if cl.ready { // never a DISCONNECT before the CONNACK [MQTT-3.2.0-1]
			cl.sendDisconnect(nil, reason)
		}
		s.mu.Unlock()
		cl.conn.Close(reason)
		n++
	}
	return n
}
