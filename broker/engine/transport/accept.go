package transport

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/broker/listen/proxyhdr"
)

// Accept retry backoff after a failed Accept (EMFILE and friends): it starts at
// acceptBackoffMin and doubles up to acceptBackoffMax.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// listener is one bound listener.
type listener struct {
	cfg listen.Config
	id  string
	ln  *net.TCPListener
	tls *listen.TLSSource // tls and wss only
	// proxy is the PROXY protocol policy (tcp and tls listeners with
	// proxy_protocol on; nil otherwise). Its step (proxy.go) runs on a handshake
	// worker before TLS, with blocking reads under the connect deadline.
	proxy *proxyhdr.Policy
}

// handshake reports whether new connections start on a handshake worker.
func (l *listener) handshake() bool { return l.proxy != nil || l.cfg.IsTLS() || l.cfg.IsWS() }

// bind opens the listener's socket.
func bind(lc listen.Config) (*listener, error) {
	l := &listener{cfg: lc, id: lc.ID()}
	if lc.IsTLS() {
		src, err := listen.NewTLSSource(lc.TLS)
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", lc.ID(), err)
		}
		l.tls = src
	}
	if lc.ProxyProtocol {
		pol, err := proxyhdr.NewPolicy(lc.ProxyTrusted, lc.ProxyUntrusted)
		if err != nil { // Validate checked it already
			return nil, fmt.Errorf("listener %s: proxy_trusted: %w: %w", lc.ID(), err, ErrInvalidConfig)
		}
		l.proxy = &pol
	}
	ln, err := net.Listen("tcp", lc.Address)
	if err != nil {
		return nil, fmt.Errorf("listener %s: %w", lc.ID(), err)
	}
	l.ln = ln.(*net.TCPListener)
	return l, nil
}

// accept is l's accept loop: every socket passes the Guard, gets the connect
// timeout as its read deadline and its reader goroutine. It returns when the
// listener is closed (Server.Close).
func (s *Server) accept(l *listener) {
	defer s.accepts.Done()
	var backoff time.Duration
	for {
		tc, err := l.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			s.log.Warn().Err(err).Str(fieldListener, l.id).Dur(fieldBackoff, backoff).Msg("accept failed")
			s.guard.AcceptError(l.id, err)
			time.Sleep(backoff) // bounded; Close's listener close ends the loop after it
			continue
		}
		backoff = 0
		answer := l.cfg.Kind == listen.KindTCP
		var (
			slot listen.Slot
			ok   bool
		)
		if l.proxy != nil {
			// The socket's address is the load balancer's: the per-IP limits
			// wait for the client's (proxyStep).
			slot, ok = s.guard.AdmitDeferred(l.id, tc, answer)
		} else {
			slot, ok = s.guard.Admit(l.id, tc, answer)
		}
		if !ok {
			continue // the Guard closed or answers it
		}
		c, err := s.newConn(l, tc, slot)
		if err != nil {
			_ = tc.Close()
			slot.Release()
			continue
		}
		if !s.track(c) {
			_ = tc.Close()
			slot.Release()
			return
		}
		if c.polled {
			s.dispatch(c)
		} else {
			go c.serve()
		}
	}
}

// newConn wraps an admitted socket.
func (s *Server) newConn(l *listener, tc *net.TCPConn, slot listen.Slot) (*Conn, error) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	polled := s.poll != nil
	dl := time.Now().Add(s.cfg.ConnectTimeout)
	if !polled || l.handshake() { // the handshake's blocking reads use it
		if err := tc.SetReadDeadline(dl); err != nil {
			return nil, err
		}
	}
	c := &Conn{s: s, l: l, tc: tc, rc: rc, slot: slot, polled: polled}
	if polled {
		s.wheel.set(c, dl)
	} else {
		c.done = make(chan error, 1)
	}
	if a, ok := tc.RemoteAddr().(*net.TCPAddr); ok {
		ap := a.AddrPort()
		c.remote = netAddrPortUnmap(ap.Addr(), ap.Port())
	}
	return c, nil
}

// handshakeWorker runs the PROXY protocol step, the TLS handshake and the
// WebSocket upgrade of new connections, until Server.Close closes the channel.
func (s *Server) handshakeWorker() {
	defer s.workers.Done()
	for c := range s.hs {
		err := s.handshake(c)
		if c.polled {
			c.afterHandshake(err)
		} else {
			c.done <- err
		}
	}
}

// handshake prepares c for MQTT bytes.
func (s *Server) handshake(c *Conn) error {
	var rest []byte // read past a PROXY header: the start of the ClientHello or of the MQTT stream
	if c.l.proxy != nil {
		var err error
		if rest, err = s.proxyStep(c); err != nil {
			return err
		}
	}
	if c.l.tls != nil {
		if err := s.handshakeTLS(c, rest); err != nil {
			return err
		}
	} else {
		c.fr.held = rest // framed before the socket is read (PROXY is tcp and tls only)
	}
	if c.l.cfg.IsWS() {
		if err := s.upgradeWS(c); err != nil {
			return err
		}
	}
	if c.tl != nil {
		c.wmu.Lock() // Close reads it to decide on close_notify
		c.tl.nonblock = true
		c.wmu.Unlock()
	}
	return nil
}

func netAddrPortUnmap(a netip.Addr, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(a.Unmap(), port)
}
