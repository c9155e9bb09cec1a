package transport

import (
	"errors"
	"fmt"

	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/broker/listen/proxyhdr"
)

// proxyStep is the PROXY protocol step of a connection of a tcp or tls listener
// with proxy_protocol on, with the semantics of broker/listen's (see its doc.go):
// it runs on a handshake worker before TLS, with blocking reads under the
// connect deadline set at accept (the header, the TLS handshake and the first
// packet share ConnectTimeout). By the listener's policy a peer outside
// proxy_trusted is refused (ErrProxyUntrusted, reason proxy_untrusted) or
// served plain under its socket address (proxy_untrusted: plain; never read as
// sending a header); a trusted peer must send a v1 or v2 header (no header or
// a malformed one: ErrProxyHeader, reason proxy_header, not reported for a
// socket closed before its first byte; none in time: ErrConnectTimeout,
// reason connect_timeout). The header's client address becomes Conn.Remote (a
// LOCAL header keeps the socket's). Then the per-IP limits, deferred at
// accept, are applied to that address (admitIP). It returns the bytes read
// past the header, which the caller hands on before reading the socket.
func (s *Server) proxyStep(c *Conn) ([]byte, error) {
	peer := c.remote
	switch c.l.proxy.Decide(peer.Addr()) {
	case proxyhdr.Refuse:
		s.guard.Reject(c.l.id, peer.String(), listen.ReasonProxyUntrusted, nil)
		return nil, ErrProxyUntrusted
	case proxyhdr.Plain:
		return nil, s.admitIP(c, nil)
	}
	// Timeout 0: proxyhdr.Read leaves the socket's deadline alone, so the connect
	// deadline set at accept bounds the header and stays for what follows.
	h, rest, err := proxyhdr.Read(c.tc, 0)
	if err != nil {
		if c.closing() { // Server.Close closed the socket under the read
			return nil, c.closeCause(ErrClosed)
		}
		switch {
		case errors.Is(err, proxyhdr.ErrNoHeader) && len(rest) == 0:
			// Closed before sending a byte (a TCP health check): nothing to report.
			return nil, fmt.Errorf("%w: %w", ErrProxyHeader, err)
		case errors.Is(err, proxyhdr.ErrTimeout):
			err = fmt.Errorf("%w: proxy header: %w", ErrConnectTimeout, err)
			s.guard.Reject(c.l.id, peer.String(), listen.ReasonConnectTimeout, err)
			return nil, err
		case errors.Is(err, proxyhdr.ErrNoHeader), errors.Is(err, proxyhdr.ErrMalformed):
			err = fmt.Errorf("%w: %w", ErrProxyHeader, err)
			s.guard.Reject(c.l.id, peer.String(), listen.ReasonProxyHeader, err)
			return nil, err
		}
		return nil, fmt.Errorf("proxy header: %w", err) // the socket failed
	}
	if h.Source.IsValid() {
		c.remote = h.Source
	}
	s.log.Debug().Str(fieldListener, c.l.id).Stringer(fieldRemote, c.remote).Stringer(fieldProxy, peer).
		Int(fieldVersion, int(h.Version)).Bool(fieldLocal, h.Local).Msg("proxy header")
	return rest, s.admitIP(c, rest)
}

// admitIP applies the per-IP limits deferred at accept to c.remote. On refusal
// the Guard has closed the socket or, on tcp listeners, answers the client
// with a CONNACK (pre, read past the header, first): the socket is the Guard's
// now, so c marks it closed without touching it, and its slot is already
// released.
func (s *Server) admitIP(c *Conn, pre []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wflags&wSockClosed != 0 { // Server.Close got here first
		if c.cause != nil {
			return c.cause
		}
		return ErrClosed
	}
	if c.slot.AdmitIP(c.l.id, c.tc, c.remote, pre, c.l.cfg.Kind == listen.KindTCP) {
		return nil
	}
	c.wflags |= wClosing | wSockClosed
	if c.cause == nil {
		c.cause = ErrRefused
	}
	return ErrRefused
}
