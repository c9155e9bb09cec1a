package listen

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/imqtt/imqtt/broker/listen/proxyhdr"
)

// proxyStep is the PROXY protocol step of a connection of a tcp or tls listener
// with proxy_protocol on, run on its serving goroutine after accept and before
// the TLS handshake. By the listener's policy (proxyhdr.Policy) it refuses a
// peer outside proxy_trusted (proxy_untrusted: refuse), serves it plain
// (proxy_untrusted: plain), or reads the header a trusted peer must send
// within what is left of ConnectTimeout. After a header with a client address,
// raw reports that address (RemoteAddr: mochi's cl.Net.Remote, the logs, the
// admin API) and replays the bytes read past the header. Then the per-IP limits
// (deferred at accept) are applied to the client's address. It returns false
// when raw was closed (or handed to the answerer).
func (l *Listener) proxyStep(raw *admittedConn) bool {
	peer := raw.TCPConn.RemoteAddr()
	var ip netip.Addr
	if a, ok := peer.(*net.TCPAddr); ok {
		ip = a.AddrPort().Addr().Unmap()
	}
	switch l.proxy.Decide(ip) {
	case proxyhdr.Refuse:
		_ = raw.Close()
		l.g.reject(l.id, peer.String(), ReasonProxyUntrusted, nil)
		return false
	case proxyhdr.Plain:
		return l.g.admitIP(l.id, raw, ip, l.cfg.Kind == KindTCP)
	}
	budget := time.Until(raw.accepted.Add(l.g.lim.ConnectTimeout))
	h, rest, err := proxyhdr.Read(raw, max(budget, time.Millisecond))
	if err != nil {
		_ = raw.Close()
		switch {
		case errors.Is(err, proxyhdr.ErrNoHeader) && len(rest) == 0:
			// Closed before sending a byte (a TCP health check): nothing to report.
		case errors.Is(err, proxyhdr.ErrTimeout):
			l.g.reject(l.id, peer.String(), ReasonConnectTimeout, err)
		case errors.Is(err, proxyhdr.ErrNoHeader), errors.Is(err, proxyhdr.ErrMalformed):
			l.g.reject(l.id, peer.String(), ReasonProxyHeader, err)
		default:
			l.log.Debug().Err(err).Str(fieldRemote, peer.String()).Msg("proxy header read failed")
		}
		return false
	}
	raw.pre = rest
	if a := h.SourceAddr(); a != nil {
		raw.remote = a
		ip = h.Source.Addr()
	}
	l.log.Debug().Str(fieldRemote, raw.RemoteAddr().String()).Str(fieldProxy, peer.String()).
		Int(fieldVersion, int(h.Version)).Bool(fieldLocal, h.Local).Msg("proxy header")
	return l.g.admitIP(l.id, raw, ip, l.cfg.Kind == KindTCP)
}
