package transport

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/imqtt/imqtt/broker/listen"
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
	// pre is the pre-handshake step, run on a handshake worker before TLS or the
	// WebSocket upgrade with blocking reads under the connect timeout (the PROXY
	// protocol header goes here: it may replace Conn.remote). nil: none.
	pre func(c *Conn) error
}

// handshake reports whether new connections start on a handshake worker.
func (l *listener) handshake() bool { return l.pre != nil || l.cfg.IsTLS() || l.cfg.IsWS() }

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
			time.Sleep(backoff) // bounded; Close's listener close ends the loop after it
			continue
		}
		backoff = 0
		slot, ok := s.guard.Admit(l.id, tc, l.cfg.Kind == listen.KindTCP)
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
		go c.serve()
	}
}

// newConn wraps an admitted socket.
func (s *Server) newConn(l *listener, tc *net.TCPConn, slot listen.Slot) (*Conn, error) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	if err := tc.SetReadDeadline(time.Now().Add(s.cfg.ConnectTimeout)); err != nil {
		return nil, err
	}
	c := &Conn{s: s, l: l, tc: tc, rc: rc, slot: slot, done: make(chan error, 1)}
	if a, ok := tc.RemoteAddr().(*net.TCPAddr); ok {
		ap := a.AddrPort()
		c.remote = netAddrPortUnmap(ap.Addr(), ap.Port())
	}
	return c, nil
}

// handshakeWorker runs the pre-handshake step, the TLS handshake and the
// WebSocket upgrade of new connections, until Server.Close closes the channel.
func (s *Server) handshakeWorker() {
	defer s.workers.Done()
	for c := range s.hs {
		c.done <- s.handshake(c)
	}
}

// handshake prepares c for MQTT bytes.
func (s *Server) handshake(c *Conn) error {
	if c.l.pre != nil {
		if err := c.l.pre(c); err != nil {
			return err
		}
	}
	if c.l.tls != nil {
		if err := s.handshakeTLS(c); err != nil {
			return err
		}
	}
	if c.l.cfg.IsWS() {
		if err := s.upgradeWS(c); err != nil {
			return err
		}
	}
	if c.tl != nil {
		c.tl.nonblock = true
	}
	return nil
}

func netAddrPortUnmap(a netip.Addr, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(a.Unmap(), port)
}
