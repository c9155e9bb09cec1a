package listen

import (
	"net"
	"net/netip"
)

// Slot is an accepted socket's hold on the Guard, for accept loops outside this
// package (the engine's transport). Admit returns it; Release gives the counts
// back. The zero Slot releases nothing. A Slot is a small value: no allocation.
type Slot struct {
	g  *Guard
	ip netip.Addr
	st *ipState
}

// Admit applies the accept-time limits (MaxConnections, per-IP connections and
// rate) to a freshly accepted socket, like the listeners of this package do. On
// success it returns the Slot that the caller must Release exactly once when the
// socket closes. On refusal it reports the rejection (Observer, log) and either
// closes tc or, with answer (plain tcp listeners), hands it to the Guard's
// answerer, which tells the client why in a CONNACK and closes it; tc then
// belongs to the Guard and the caller must not touch it.
func (g *Guard) Admit(listener string, tc *net.TCPConn, answer bool) (Slot, bool) {
	ac := g.admit(listener, tc, answer, false)
	if ac == nil {
		return Slot{}, false
	}
	return Slot{g: g, ip: ac.ip, st: ac.st}, true
}

// Release gives back the counts of an admitted socket. Call it exactly once.
func (s Slot) Release() {
	if s.g != nil {
		s.g.release(s.ip, s.st)
	}
}

// Reject reports a connection closed by a limit outside this package (connect
// timeout, TLS handshake failure) to the Observer and the rate-limited log, with
// one of the Reason* constants.
func (g *Guard) Reject(listener, remote, reason string, err error) {
	g.reject(listener, remote, reason, err)
}
