package transport

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker/listen"
)

// Server owns the listeners, the worker pools and every connection.
type Server struct {
	cfg       Config
	maxPacket int // 0: no limit beyond MQTT's
	// firstMax is the total size limit of a connection's first packet: the
	// Guard's MaxFirstPacket remaining length (with its header), or maxPacket
	// if that is smaller. Nothing larger is buffered before CONNECT.
	firstMax int
	guard    *listen.Guard
	h        Handler
	log      zerolog.Logger
	lns      []*listener

	work     chan *Conn // read batches, served by the workers
	hs       chan *Conn // handshakes, served by the handshake workers
	readBufs sync.Pool  // *[]byte of readBufSize
	recBufs  sync.Pool  // *[]byte of recordSize (TLS plaintext records)
	chunks   chunkPool  // output chunks
	poll     *poller    // the epoll path (poller.go); nil with Config.Poller "goroutine"
	wheel    *wheel     // read deadlines of the epoll path; nil with poll
	closedCh chan struct{}

	accepts sync.WaitGroup // accept loops
	readers sync.WaitGroup // one per connection
	workers sync.WaitGroup // both pools
	writers sync.WaitGroup // one per busy connection

	mu      sync.Mutex
	conns   map[*Conn]struct{}
	started bool
	closed  bool

	lingering atomic.Int64 // sockets lingering now (linger.go), at most cfg.MaxLingering
	lingerCut atomic.Bool  // Server.Close began: lingers end at once

	closeOnce sync.Once
	closeErr  error
}

// New validates cfg and binds every listener (a port 0 gets a free port: see
// Addr). Nothing is accepted before Start. On error every bound socket is closed.
func New(cfg Config, guard *listen.Guard, h Handler, log zerolog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, ErrNilHandler
	}
	if guard == nil {
		return nil, ErrNilGuard
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:      cfg,
		guard:    guard,
		h:        h,
		log:      log.With().Str(fieldComponent, componentName).Logger(),
		work:     make(chan *Conn),
		hs:       make(chan *Conn),
		closedCh: make(chan struct{}),
		conns:    make(map[*Conn]struct{}),
	}
	if cfg.MaxPacketSize < MaxPacketSizeLimit {
		s.maxPacket = cfg.MaxPacketSize
	}
	s.firstMax = firstPacketMax(guard.Limits().MaxFirstPacket, s.maxPacket)
	close(s.closedCh)
	if cfg.Poller == PollerEpoll {
		p, err := newPoller(pollers(), s.log)
		if err != nil {
			return nil, err
		}
		s.poll, s.wheel = p, newWheel()
	}
	s.readBufs.New = func() any { b := make([]byte, readBufSize); return &b }
	s.recBufs.New = func() any { b := make([]byte, 0, recordSize); return &b }
	for _, lc := range cfg.Listeners {
		l, err := bind(lc)
		if err != nil {
			for _, l := range s.lns {
				_ = l.ln.Close()
			}
			if s.poll != nil {
				s.poll.closeFds()
			}
			return nil, err
		}
		s.lns = append(s.lns, l)
	}
	return s, nil
}

// Start starts the worker pools and the accept loops. Call it once, after New.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	s.workers.Add(s.cfg.Workers + s.cfg.HandshakeWorkers)
	for range s.cfg.Workers {
		go s.worker()
	}
	for range s.cfg.HandshakeWorkers {
		go s.handshakeWorker()
	}
	if s.poll != nil {
		s.poll.start()
		go s.wheel.run()
	}
	for _, l := range s.lns {
		s.accepts.Add(1)
		go s.accept(l)
		s.log.Info().Str(fieldListener, l.id).Str(fieldKind, l.cfg.Kind).
			Stringer(fieldAddress, l.ln.Addr()).Msg("listening")
	}
}

// Addr returns the bound address of the named listener, nil if unknown.
func (s *Server) Addr(listener string) net.Addr {
	for _, l := range s.lns {
		if l.id == listener {
			return l.ln.Addr()
		}
	}
	return nil
}

// ReloadTLS re-reads the named tls or wss listener's certificate, key and
// client CA files (SIGHUP). New handshakes use the new material; established
// connections keep theirs; on error the current material stays in use. Errors:
// ErrUnknownListener, listen.ErrNotTLS (tcp and ws listeners), or the
// listen.ErrTLSMaterial error naming the field and file. Safe for concurrent
// use, before or after Start.
func (s *Server) ReloadTLS(listener string) error {
	for _, l := range s.lns {
		if l.id != listener {
			continue
		}
		if l.tls == nil {
			return fmt.Errorf("listener %s: %w", listener, listen.ErrNotTLS)
		}
		if err := l.tls.Reload(); err != nil {
			s.log.Warn().Err(err).Str(fieldListener, l.id).Msg("tls reload failed; the current material stays")
			return fmt.Errorf("listener %s: %w", listener, err)
		}
		s.log.Info().Str(fieldListener, l.id).Msg("tls material reloaded")
		return nil
	}
	return fmt.Errorf("%s: %w", listener, ErrUnknownListener)
}

// Close shuts the server down, in order: stop accepting (close the listeners,
// wait for the accept loops); Close every connection with ErrServerClosed (each
// flushes what is pending, a blocked writer bounded by WriteTimeout; a handler
// that wants to send a DISCONNECT queues it before calling Close); wait for the
// readers (each calls Handler.Closed); stop the worker pools and wait for them;
// wait for the writers. If ctx ends first, every socket is closed at once (pending
// output dropped) and the waiting goes on; Close then returns ctx's error.
// Idempotent (later calls return the first result); safe without Start.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *Server) close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	started := s.started
	s.mu.Unlock()
	var first error
	for _, l := range s.lns {
		if err := l.ln.Close(); err != nil && first == nil {
			first = fmt.Errorf("close listener %s: %w", l.id, err)
		}
	}
	s.accepts.Wait()
	s.lingerCut.Store(true) // before the cuts below: a linger starting later sees it
	for _, c := range s.snapshot() {
		c.Close(ErrServerClosed)
		c.cutLinger()
	}
	readersDone := make(chan struct{})
	go func() { // ends when the readers did; Close waits for it below
		s.readers.Wait()
		close(readersDone)
	}()
	select {
	case <-readersDone:
	case <-ctx.Done():
		first = ctx.Err()
		for _, c := range s.snapshot() {
			c.abort(ErrServerClosed)
		}
		<-readersDone
	}
	if s.poll != nil { // every connection finished: no event or deadline is left to dispatch
		s.poll.close(started)
		s.wheel.close(started)
	}
	if started {
		close(s.work)
		close(s.hs)
	}
	s.workers.Wait()
	s.writers.Wait()
	if s.poll != nil {
		s.poll.closeFds() // no worker is left to re-arm with them
	}
	return first
}

// snapshot returns the open connections.
func (s *Server) snapshot() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	return cs
}

// track registers a new connection; false if the server is closing.
func (s *Server) track(c *Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.readers.Add(1)
	return true
}

// forget drops a finished connection.
func (s *Server) forget(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// firstPacketMax turns a remaining length limit rem into the total size limit
// the framer checks: 1 type byte, rem's length bytes, rem. A larger remaining
// length always has a larger total (its length bytes never shrink), so the
// check is exact. maxPacket (0: none) caps it.
func firstPacketMax(rem, maxPacket int) int {
	total := 1 + len(appendRemaining(nil, rem)) + rem
	if maxPacket > 0 && maxPacket < total {
		return maxPacket
	}
	return total
}

// appendRemaining appends n as an MQTT variable byte integer.
func appendRemaining(b []byte, n int) []byte {
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}
