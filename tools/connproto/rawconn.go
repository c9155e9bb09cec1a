package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// connectTimeout bounds the wait for the TLS handshake and the CONNECT packet.
const connectTimeout = 10 * time.Second

// rawServer is model (a): one goroutine per connection, parked in a readiness wait
// (syscall.RawConn.Read) that holds no buffer.
//
// Goroutines: accept (one, owned by the server) and serve (one per connection,
// started by accept, tracked by wg). Close closes the listener, then every tracked
// connection, then waits for wg.
type rawServer struct {
	st  *stats
	ln  net.Listener
	tls *tls.Config
	wg  sync.WaitGroup // accept and serve goroutines

	// With handoff, serve only waits for readiness; the TLS handshake and every
	// read batch run on one of a few workers (owned by the server, stopped by
	// Close after every serve returned), so the parked goroutines never grow.
	work    chan *rawJob
	workers sync.WaitGroup

	mu     sync.Mutex
	conns  map[*net.TCPConn]struct{}
	closed bool
}

func startRaw(cfg config, st *stats) (*rawServer, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &rawServer{st: st, ln: ln, tls: cfg.TLS, conns: make(map[*net.TCPConn]struct{})}
	if cfg.Handoff {
		n := cfg.Workers
		if n <= 0 {
			n = 4 * runtime.NumCPU()
		}
		s.work = make(chan *rawJob)
		s.workers.Add(n)
		for range n {
			go s.worker()
		}
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// rawJob is a connection's state in the handoff variant: serve hands it to a worker
// each time the socket is readable and waits for the result on done.
type rawJob struct {
	tc   *net.TCPConn
	nb   *nbConn
	conn io.ReadWriter // nb, or a *tls.Conn over it once the handshake is done
	c    client
	done chan error
}

func (s *rawServer) worker() {
	defer s.workers.Done()
	for j := range s.work {
		if j.conn == nil {
			j.done <- s.handshake(j)
			continue
		}
		j.done <- s.readBatch(&j.c, j.conn, j.tc)
	}
}

// handshake runs the TLS handshake (blocking reads) and switches nb to
// non-blocking reads; without TLS it only does the switch.
func (s *rawServer) handshake(j *rawJob) error {
	j.conn = j.nb
	if s.tls != nil {
		tlc := tls.Server(j.nb, s.tls)
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		err := tlc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			return err
		}
		j.conn = tlc
	}
	j.nb.nonblock = true
	return nil
}

func (s *rawServer) Addr() string { return s.ln.Addr().String() }

func (s *rawServer) Stats() Snapshot {
	if s.work != nil {
		return s.st.snapshot("rawconn-handoff", s.tls != nil)
	}
	return s.st.snapshot("rawconn", s.tls != nil)
}

func (s *rawServer) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if s.work != nil {
		close(s.work) // no serve goroutine is left to send
		s.workers.Wait()
	}
	return err
}

func (s *rawServer) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && !errors.Is(err, net.ErrClosed) && ne.Timeout() {
				continue
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				time.Sleep(10 * time.Millisecond) // out of fds: let some close
				continue
			}
			return // closed
		}
		tc := nc.(*net.TCPConn)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = tc.Close()
			return
		}
		s.conns[tc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(tc)
	}
}

// serve owns tc until it returns: it reads, decodes, answers and closes.
func (s *rawServer) serve(tc *net.TCPConn) {
	defer s.wg.Done()
	s.st.conns.Add(1)
	defer func() {
		_ = tc.Close()
		s.mu.Lock()
		delete(s.conns, tc)
		s.mu.Unlock()
		s.st.conns.Add(-1)
	}()
	rc, err := tc.SyscallConn()
	if err != nil {
		return
	}
	nb := &nbConn{TCPConn: tc, rc: rc}
	_ = tc.SetReadDeadline(time.Now().Add(connectTimeout))
	if s.work != nil {
		s.serveHandoff(&rawJob{tc: tc, nb: nb, done: make(chan error, 1)}, rc)
		return
	}
	var conn io.ReadWriter = nb
	if s.tls != nil {
		tlc := tls.Server(nb, s.tls)
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		err := tlc.HandshakeContext(ctx) // blocking reads: nb.nonblock is false
		cancel()
		if err != nil {
			return
		}
		conn = tlc
	}
	nb.nonblock = true
	c := &client{}
	defer s.dropPartial(c)
	for {
		if err := s.readBatch(c, conn, tc); err != nil {
			return
		}
		// Park without a buffer until the socket is readable (or the keepalive
		// read deadline passes).
		if err := waitReadable(rc); err != nil {
			return
		}
	}
}

// dropPartial uncounts the incomplete packet a closing connection still held.
func (s *rawServer) dropPartial(c *client) {
	if len(c.partial) > 0 {
		s.st.partials.Add(-1)
	}
}

// serveHandoff parks in the readiness wait and lets a worker do everything else.
func (s *rawServer) serveHandoff(j *rawJob, rc syscall.RawConn) {
	defer s.dropPartial(&j.c) // after the last <-j.done: no worker holds j
	s.work <- j
	if err := <-j.done; err != nil {
		return
	}
	for {
		s.work <- j
		if err := <-j.done; err != nil {
			return
		}
		if err := waitReadable(rc); err != nil {
			return
		}
	}
}

// readBatch reads what is available (without blocking) into a pooled buffer,
// answers it with one write and returns both buffers to their pools.
func (s *rawServer) readBatch(c *client, conn io.ReadWriter, tc *net.TCPConn) error {
	buf := s.st.getRead()
	defer s.st.putRead(buf)
	out := s.st.getWrite()
	defer s.st.putWrite(out)
	var ferr error
	for ferr == nil {
		n, err := conn.Read(*buf)
		if n > 0 {
			ferr = c.feed(s.st, (*buf)[:n], out)
		}
		if errors.Is(err, errWouldBlock) {
			break
		}
		if err != nil {
			return err
		}
		if s.tls == nil && n < len(*buf) {
			break // the socket is drained; TLS may still hold a whole record
		}
	}
	if out.Len() > 0 {
		if _, err := conn.Write(out.Bytes()); err != nil {
			return err
		}
	}
	if ferr != nil {
		return ferr
	}
	if c.keepalive > 0 {
		// The keepalive timer lives in the netpoller's pollDesc: no allocation.
		_ = tc.SetReadDeadline(time.Unix(0, c.deadline))
	} else if c.version != 0 {
		_ = tc.SetReadDeadline(time.Time{})
	}
	return nil
}

// waitReadable parks the goroutine in the netpoller until fd has data (or EOF or an
// error). The check is a 1-byte MSG_PEEK: after RawConn.Read resets the readiness
// flag, data that arrived before the reset would otherwise never wake the wait.
func waitReadable(rc syscall.RawConn) error {
	return rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return err != syscall.EAGAIN
	})
}
