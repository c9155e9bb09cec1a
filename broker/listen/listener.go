package listen

import (
	"context"
	"crypto/tls"
	"fmt"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/imqtt/imqtt/broker/listen/proxyhdr"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/rs/zerolog"
)

// Option configures a Listener.
type Option func(*Listener)

// WithOnPanic sets a callback run after a panic while serving one client was
// recovered and the connection closed. conn is the net.Conn that was given to
// mochi (the broker finds the client by it and cleans mochi's client table); v is
// the panic value. It runs on the client's goroutine; a panic in it is recovered
// and logged.
func WithOnPanic(fn func(listener string, conn net.Conn, v any)) Option {
	return func(l *Listener) { l.onPanic = fn }
}

// WithCloseClients sets the function Close uses to disconnect this listener's
// clients instead of the one the server passes in. mochi v2.7.9's own
// (Server.closeListenerClients) can deadlock: Clients.GetByListener takes the
// client table's read lock and, inside it, again through Clients.Len; a session
// ending at that moment (Clients.Delete, a write lock) queues between the two
// and nobody proceeds. The broker passes one that reads the table once.
func WithCloseClients(fn listeners.CloseFn) Option {
	return func(l *Listener) { l.closeClients = fn }
}

// Listener is one MQTT listener (tcp, tls, ws or wss) implementing mochi's
// listeners.Listener. See the package documentation for its lifecycle.
type Listener struct {
	cfg     Config
	id      string
	g       *Guard
	log     zerolog.Logger
	onPanic func(listener string, conn net.Conn, v any)
	// closeClients replaces Close's argument when set (WithCloseClients).
	closeClients listeners.CloseFn
	tls          *tlsStore        // tls, wss; nil otherwise
	path         string           // ws, wss
	proxy        *proxyhdr.Policy // tcp, tls with proxy_protocol; nil otherwise
	tlsCfg       *tls.Config      // tls with proxy_protocol: the handshake starts after the header

	mu        sync.Mutex
	acc       *acceptor
	httpSrv   *http.Server
	upgrader  *websocket.Upgrader
	establish listeners.EstablishFn
	serving   bool
	serveDone chan struct{}
	closed    bool
	noLinger  bool
	conns     map[*conn]struct{}
	sessions  int           // client goroutines running
	drained   chan struct{} // closed when closed and sessions == 0

	lingerWG sync.WaitGroup
}

// New checks cfg, loads the TLS material of tls and wss listeners (errors name the
// field and the file) and returns a Listener that is not bound yet: Init binds it.
// g is the broker's shared Guard; log gets component=listen and listener=<id>.
func New(cfg Config, g *Guard, log zerolog.Logger, opts ...Option) (*Listener, error) {
	if g == nil {
		return nil, ErrNilGuard
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Listener{
		cfg:     cfg,
		id:      cfg.ID(),
		g:       g,
		conns:   make(map[*conn]struct{}),
		drained: make(chan struct{}),
	}
	l.log = log.With().Str(fieldComponent, componentName).Str(fieldListener, l.id).Logger()
	for _, o := range opts {
		o(l)
	}
	if cfg.IsTLS() {
		st, err := newTLSStore(cfg.TLS)
		if err != nil {
			return nil, err
		}
		l.tls = st
		l.logTLS("tls material loaded", st.cur.Load())
	}
	if cfg.ProxyProtocol {
		pol, err := cfg.proxyPolicy()
		if err != nil {
			return nil, fmt.Errorf("proxy_trusted: %w: %w", err, ErrInvalidConfig)
		}
		l.proxy = &pol
	}
	if cfg.IsWS() {
		l.path = cfg.wsPath()
		l.upgrader = newUpgrader()
	}
	return l, nil
}

// ID returns the listener id (Config.Name, or the kind).
func (l *Listener) ID() string { return l.id }

// Protocol returns the kind: tcp, tls, ws or wss.
func (l *Listener) Protocol() string { return l.cfg.Kind }

// Address returns the bound address after Init (port 0 resolved), else the
// configured one.
func (l *Listener) Address() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.acc != nil {
		return l.acc.Addr().String()
	}
	return l.cfg.Address
}

// Init binds the socket. mochi calls it from AddListener; its slog logger is not
// used (the Listener logs through the zerolog logger given to New).
func (l *Listener) Init(*slog.Logger) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.acc != nil {
		return ErrAlreadyOpen
	}
	ln, err := net.Listen("tcp", l.cfg.Address)
	if err != nil {
		return fmt.Errorf("listen %s %s: %w", l.cfg.Kind, l.cfg.Address, err)
	}
	var wrap func(*admittedConn) net.Conn
	if l.tls != nil {
		tc := l.tls.serverConfig()
		wrap = func(ac *admittedConn) net.Conn {
			return newTLSServerConn(ac, tc, l.tlsFailed)
		}
		if l.proxy != nil { // the PROXY header comes before the ClientHello
			l.tlsCfg, wrap = tc, nil
		}
	}
	l.acc = newAcceptor(ln.(*net.TCPListener), l.id, l.g, l.log, wrap)
	l.acc.answer = l.cfg.Kind == KindTCP
	l.acc.deferIP = l.proxy != nil
	if l.upgrader != nil {
		lim := l.g.lim
		l.httpSrv = &http.Server{
			Handler:           http.HandlerFunc(l.serveWS),
			ReadHeaderTimeout: lim.ConnectTimeout,
			IdleTimeout:       lim.ConnectTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          newHTTPErrorLog(l.log),
		}
	}
	ev := l.log.Info().Str(fieldKind, l.cfg.Kind).Str(fieldAddress, l.acc.Addr().String())
	if l.proxy != nil {
		ev = ev.Str(fieldProxy, l.proxy.Trusted().String())
	}
	ev.Msg("listener open")
	return nil
}

// maxHeaderBytes caps the HTTP upgrade request of ws and wss listeners.
const maxHeaderBytes = 16 << 10

// Serve accepts connections until Close and runs establish (mochi's
// EstablishConnection) for each on its own goroutine, with panics contained. It
// returns when the listener is closed; before Init or after Close it returns at
// once. Call it once.
func (l *Listener) Serve(establish listeners.EstablishFn) {
	l.mu.Lock()
	if l.closed || l.acc == nil || l.serving {
		l.mu.Unlock()
		if !l.isClosed() {
			l.log.Error().Msg("serve called before init or twice")
		}
		return
	}
	l.serving = true
	l.establish = establish
	done := make(chan struct{})
	l.serveDone = done
	acc, hs := l.acc, l.httpSrv
	l.mu.Unlock()
	defer close(done)

	if hs != nil {
		if err := hs.Serve(acc); err != nil && err != http.ErrServerClosed && !l.isClosed() {
			l.log.Error().Err(err).Msg("websocket listener stopped")
		}
		return
	}
	for {
		c, err := acc.Accept()
		if err != nil {
			return // only Close ends Accept
		}
		if !l.sessionStart() {
			_ = c.Close()
			return
		}
		go l.serveTCP(c)
	}
}

// Close stops accepting, waits for the accept loop, bounds pending writes, calls
// closeClients(id) once (mochi disconnects the clients of this listener), closes
// every connection left (those still before CONNECT), and waits for the graceful
// closes (at most CloseLinger). It does not wait for client sessions: mochi's
// server waits for them; Wait does too. Idempotent; safe without Init or Serve.
func (l *Listener) Close(closeClients listeners.CloseFn) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	if l.sessions == 0 {
		close(l.drained)
	}
	acc, hs, done := l.acc, l.httpSrv, l.serveDone
	l.mu.Unlock()

	if hs != nil {
		_ = hs.Close() // closes the acceptor and the connections not upgraded yet
	}
	if acc != nil {
		_ = acc.Close()
	}
	if done != nil {
		<-done
	}

	conns := l.snapshot()
	deadline := nowPlus(shutdownWriteTimeout)
	for _, c := range conns {
		c.beginShutdown(deadline)
	}
	if l.closeClients != nil {
		closeClients = l.closeClients
	}
	if closeClients != nil {
		closeClients(l.id)
	}
	for _, c := range conns { // no new ones: track refuses once closed
		_ = c.Close()
	}

	l.mu.Lock()
	l.noLinger = true
	l.mu.Unlock()
	l.lingerWG.Wait()
	if acc != nil {
		l.log.Info().Msg("listener closed")
	}
}

// Wait blocks until every client goroutine this listener started has returned,
// or ctx ends. Call it after Close (before, it waits for Close too).
func (l *Listener) Wait(ctx context.Context) error {
	select {
	case <-l.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ReloadTLS re-reads the certificate, key and client CA files. New handshakes use
// the new material; established connections keep theirs. On error the previous
// material stays in use and the error (naming the field and file) is returned.
// It returns ErrNotTLS on tcp and ws listeners.
func (l *Listener) ReloadTLS() error {
	if l.tls == nil {
		return ErrNotTLS
	}
	m, err := l.tls.load()
	if err != nil {
		return err
	}
	l.logTLS("tls material reloaded", m)
	return nil
}

func (l *Listener) logTLS(msg string, m *tlsMaterial) {
	l.log.Info().Str(fieldFile, l.cfg.TLS.CertFile).Str(fieldSerial, m.leaf.SerialNumber.String()).
		Time(fieldNotAfter, m.leaf.NotAfter).Msg(msg)
	if m.leaf.NotAfter.Before(m.loadedAt) {
		l.log.Warn().Str(fieldFile, l.cfg.TLS.CertFile).Time(fieldNotAfter, m.leaf.NotAfter).
			Msg("tls certificate has expired")
	}
}

// tlsFailed reports a failed TLS handshake.
func (l *Listener) tlsFailed(remote string, err error) {
	l.g.reject(l.id, remote, ReasonTLSHandshake, err)
}

func (l *Listener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// sessionStart counts a client goroutine; false once closed.
func (l *Listener) sessionStart() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.sessions++
	return true
}

func (l *Listener) sessionEnd() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sessions--
	if l.closed && l.sessions == 0 {
		close(l.drained)
	}
}

// track registers a connection handed to mochi; false once closed.
func (l *Listener) track(c *conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *Listener) untrack(c *conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
}

func (l *Listener) snapshot() []*conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		out = append(out, c)
	}
	return out
}

// lingerStart counts a graceful close; false once Close has finished waiting for
// them (then connections close at once).
func (l *Listener) lingerStart() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.noLinger {
		return false
	}
	l.lingerWG.Add(1)
	return true
}

func (l *Listener) lingerDone() { l.lingerWG.Done() }

// httpErrorLog turns the HTTP server's error log lines into debug events.
type httpErrorLog struct{ log zerolog.Logger }

func (w httpErrorLog) Write(p []byte) (int, error) {
	w.log.Debug().Str("error", strings.TrimSpace(string(p))).Msg("http server error")
	return len(p), nil
}

func newHTTPErrorLog(log zerolog.Logger) *stdlog.Logger {
	return stdlog.New(httpErrorLog{log: log}, "", 0)
}

func nowPlus(d time.Duration) time.Time { return time.Now().Add(d) }
