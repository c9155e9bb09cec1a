package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// tcpStream is the raft.StreamLayer of the TCP transport. Unlike raft's
// TCPStreamLayer it tracks every connection it accepts or dials and closes them
// all in Close: raft's NetworkTransport.Close only closes the listener, which
// leaves the goroutine serving each inbound connection blocked in Read (and
// pooled outbound connections open) until the peer hangs up.
//
// The one port carries several kinds of connection (a mux, as rqlite does):
// every connection starts with the handshake (handshake.go), in which the
// dialler announces the kind and both sides prove the cluster secret —
// connRaft for raft's own traffic, others for the handlers registered with
// SetHandler (forwarded writes, publish routing links, the join probe).
// Nothing is read from or written to a connection past the handshake until
// the peer proved the secret; a failed handshake closes the connection.
// Accept hands raft only its own connections; a connection of another kind
// is served by its handler in a goroutine the stream owns; an unknown kind
// is closed.
type tcpStream struct {
	ln        net.Listener
	advertise net.Addr
	dialer    net.Dialer
	tlsClient *tls.Config // nil: plain TCP
	auth      *authenticator

	raftCh chan net.Conn
	stop   chan struct{}
	wg     sync.WaitGroup

	mu       sync.Mutex
	conns    map[*trackedConn]struct{}
	handlers map[byte]func(net.Conn)
	closed   bool
}

// Connection kinds: the first byte of every connection on the cluster port.
const (
	connRaft byte = 'R'
	connRPC  byte = 'F'
	// ConnLink is the kind of the publish routing links (package cluster/route).
	ConnLink byte = 'L'
	// connHello is the join probe: the acceptor answers its node id
	// (probe.go).
	connHello byte = 'H'
)

var _ raft.StreamLayer = (*tcpStream)(nil)

// newTCPTransport listens on bindAddr and returns the raft transport over it.
// advertise nil means the bound address, which must then be dialable.
// auth authenticates every connection, accepted or dialled.
func newTCPTransport(bindAddr, sourceAddr string, tc TLSConfig, advertise net.Addr, auth *authenticator, hl hclog.Logger) (*raft.NetworkTransport, *tcpStream, error) {
	var serverTLS, clientTLS *tls.Config
	if tc.Enabled() {
		var err error
		if serverTLS, clientTLS, err = tc.load(); err != nil {
			return nil, nil, err
		}
	}
	ln, err := net.Listen("tcp", bindAddr)
	if err != nil {
		return nil, nil, err
	}
	tcpAddr := ln.Addr()
	if serverTLS != nil {
		ln = tlsListener{Listener: tls.NewListener(ln, serverTLS), addr: tcpAddr}
	}
	s := &tcpStream{
		ln: ln, advertise: advertise,
		raftCh:    make(chan net.Conn),
		stop:      make(chan struct{}),
		conns:     map[*trackedConn]struct{}{},
		handlers:  map[byte]func(net.Conn){},
		tlsClient: clientTLS,
		auth:      auth,
	}
	if ip := net.ParseIP(sourceAddr); ip != nil {
		s.dialer.LocalAddr = &net.TCPAddr{IP: ip}
	}
	addr, ok := s.Addr().(*net.TCPAddr)
	if !ok || addr.IP == nil || addr.IP.IsUnspecified() {
		_ = ln.Close()
		return nil, nil, fmt.Errorf("address %s is not advertisable: set advertise_addr", s.Addr())
	}
	s.wg.Add(1)
	go s.acceptLoop()
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  s,
		MaxPool: tcpMaxPool,
		Timeout: tcpTimeout,
		Logger:  hl,
	})
	return trans, s, nil
}

// Accept implements net.Listener: the next raft connection.
func (s *tcpStream) Accept() (net.Conn, error) {
	select {
	case c := <-s.raftCh:
		return c, nil
	case <-s.stop:
		return nil, net.ErrClosed
	}
}

// acceptLoop accepts every connection and sorts it by kind (in a goroutine per
// connection, so a slow dialler holds up nobody). It returns when the listener
// is closed.
func (s *tcpStream) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		tc, err := s.track(c)
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = tc.Close()
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.sort(tc)
	}
}

// sort authenticates c, reads the kind its dialler announced and hands it on.
func (s *tcpStream) sort(c net.Conn) {
	defer s.wg.Done()
	kind, err := s.auth.accept(c)
	if err != nil {
		_ = c.Close()
		return
	}
	if kind == connRaft {
		select {
		case s.raftCh <- c:
		case <-s.stop:
			_ = c.Close()
		}
		return
	}
	s.mu.Lock()
	h := s.handlers[kind]
	s.mu.Unlock()
	if h == nil {
		_ = c.Close()
		return
	}
	h(c)
	_ = c.Close()
}

// SetHandler serves connections of kind with h (in a goroutine per
// connection, owned by the stream: h must return once c is closed, and Close
// closes it). Replaces an earlier handler of the kind.
func (s *tcpStream) SetHandler(kind byte, h func(net.Conn)) {
	s.mu.Lock()
	s.handlers[kind] = h
	s.mu.Unlock()
}

// Dial implements raft.StreamLayer.
func (s *tcpStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return s.DialKind(string(address), connRaft, timeout)
}

// DialKind dials address, announces a connection of kind and runs the
// handshake: the peer must prove the cluster secret (else an error wrapping
// ErrPeerUnauthenticated and a *handshakeError). The connection is tracked
// (closed by Close).
func (s *tcpStream) DialKind(address string, kind byte, timeout time.Duration) (net.Conn, error) {
	d := s.dialer
	d.Timeout = timeout
	c, err := d.Dial("tcp", address)
	if err != nil {
		return nil, err
	}
	if s.tlsClient != nil {
		c = tls.Client(c, s.tlsClient) // the handshake runs in auth.dial
	}
	tc, err := s.track(c)
	if err != nil {
		return nil, err
	}
	if err := s.auth.dial(tc, kind, timeout); err != nil {
		_ = tc.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrPeerUnauthenticated, address, err)
	}
	return tc, nil
}

func (s *tcpStream) track(c net.Conn) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, s: s}
	s.conns[tc] = struct{}{}
	return tc, nil
}

// Close implements net.Listener: it closes the listener and every tracked
// connection. Idempotent.
func (s *tcpStream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	err := s.ln.Close()
	for c := range conns {
		_ = c.Conn.Close()
	}
	s.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// tlsListener is a TLS listener that reports the TCP address.
type tlsListener struct {
	net.Listener
	addr net.Addr
}

func (l tlsListener) Addr() net.Addr { return l.addr }

// Addr implements net.Listener: the advertised address if set.
func (s *tcpStream) Addr() net.Addr {
	if s.advertise != nil {
		return s.advertise
	}
	return s.ln.Addr()
}

// trackedConn removes itself from its stream when closed.
type trackedConn struct {
	net.Conn
	s    *tcpStream
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		if c.s.conns != nil {
			delete(c.s.conns, c)
		}
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}
