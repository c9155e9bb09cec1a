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

// AdmitDeferred is Admit for PROXY protocol listeners, whose socket address is
// the load balancer's: only MaxConnections is applied now (as this package's
// PROXY listeners do at accept). Once the client's address is known (after
// the header, or the socket's for a peer served plain), Slot.AdmitIP must
// apply the per-IP limits before the connection is served.
func (g *Guard) AdmitDeferred(listener string, tc *net.TCPConn, answer bool) (Slot, bool) {
	ac := g.admit(listener, tc, answer, true)
	if ac == nil {
		return Slot{}, false
	}
	return Slot{g: g, ip: ac.ip, st: ac.st}, true
}

// AdmitIP applies the per-IP limits to a Slot from AdmitDeferred under the
// client's address remote (from its PROXY header, or the socket's). Call it
// once, before the connection is served. On success s also holds the per-IP
// count (its single Release gives both back). On refusal it reports the
// rejection, releases s (leaving the zero Slot) and either closes tc or, with
// answer (tcp listeners), hands tc and pre (the bytes read past the header) to
// the answerer, which tells the client why in a CONNACK; tc then belongs to the
// Guard and the caller must not touch it.
func (s *Slot) AdmitIP(listener string, tc *net.TCPConn, remote netip.AddrPort, pre []byte, answer bool) bool {
	if s.g == nil {
		return false
	}
	ac := &admittedConn{TCPConn: tc, g: s.g, ip: s.ip, st: s.st, pre: pre, remote: net.TCPAddrFromAddrPort(remote)}
	if !s.g.admitIP(listener, ac, remote.Addr(), answer) {
		*s = Slot{}
		return false
	}
	s.ip, s.st = ac.ip, ac.st
	return true
}

// AcceptError reports a failed Accept that the caller's accept loop retries
// (EMFILE and friends) to the Observer. The caller logs it.
func (g *Guard) AcceptError(listener string, err error) { g.obs.AcceptError(listener, err) }

// Panic reports a panic recovered while serving one client to the Observer.
// The caller logs it.
func (g *Guard) Panic(listener string) { g.obs.Panic(listener) }
