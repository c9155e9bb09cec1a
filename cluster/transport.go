package cluster

import (
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
type tcpStream struct {
	ln        net.Listener
	advertise net.Addr

	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

var _ raft.StreamLayer = (*tcpStream)(nil)

// newTCPTransport listens on bindAddr and returns the raft transport over it.
// advertise nil means the bound address, which must then be dialable.
func newTCPTransport(bindAddr string, advertise net.Addr, hl hclog.Logger) (*raft.NetworkTransport, *tcpStream, error) {
	ln, err := net.Listen("tcp", bindAddr)
	if err != nil {
		return nil, nil, err
	}
	s := &tcpStream{ln: ln, advertise: advertise, conns: map[*trackedConn]struct{}{}}
	addr, ok := s.Addr().(*net.TCPAddr)
	if !ok || addr.IP == nil || addr.IP.IsUnspecified() {
		_ = ln.Close()
		return nil, nil, fmt.Errorf("address %s is not advertisable: set advertise_addr", s.Addr())
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  s,
		MaxPool: tcpMaxPool,
		Timeout: tcpTimeout,
		Logger:  hl,
	})
	return trans, s, nil
}

// Accept implements net.Listener.
func (s *tcpStream) Accept() (net.Conn, error) {
	c, err := s.ln.Accept()
	if err != nil {
		return nil, err
	}
	return s.track(c)
}

// Dial implements raft.StreamLayer.
func (s *tcpStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", string(address), timeout)
	if err != nil {
		return nil, err
	}
	return s.track(c)
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
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	err := s.ln.Close()
	for c := range conns {
		_ = c.Conn.Close()
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

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
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}
