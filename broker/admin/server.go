package admin

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Version describes the running build for GET /api/v1/version.
type Version struct {
	// Version is the release version, e.g. "v0.3.0" or "dev".
	Version string
	// Commit is the VCS revision the binary was built from.
	Commit string
	// BuildDate is when the binary was built (RFC 3339).
	BuildDate string
}

// Deps are what the routes read. Every field is optional.
type Deps struct {
	// Metrics is served on GET /metrics; *metrics.Metrics (hooks/metrics) is a
	// prometheus.Gatherer. Nil: no /metrics route.
	Metrics prometheus.Gatherer
	// Ready is called by GET /readyz: nil error means ready. It must be fast and
	// safe for concurrent use. Nil: always ready.
	Ready func() error
	// Version is reported by GET /api/v1/version.
	Version Version
	// Refusals counts refused requests by limit label (LimitHost,
	// LimitOrigin, LimitContentType, LimitToken). Nil: not counted.
	Refusals RefusalCounter
}

// healthzPattern is the liveness route, which skips every request check.
const healthzPattern = "GET /healthz"

// refusalBurst refusal log lines are written per refusalPeriod at most.
const (
	refusalBurst  = 5
	refusalPeriod = 10 * time.Second
)

// Server lifecycle states.
const (
	stateNew = iota
	stateStarted
	stateClosed
)

// Server is the admin HTTP listener. Build it with New, add routes with Handle or
// HandlePublic, then Start; Close stops it. Safe for concurrent use.
type Server struct {
	cfg  Config
	deps Deps
	log  zerolog.Logger
	mux  *http.ServeMux
	// refusedLog is log sampled to refusalBurst lines per refusalPeriod.
	refusedLog zerolog.Logger
	// allowedHosts are Config.AllowedHosts without IPv6 brackets.
	allowedHosts []string
	// tokenFile is the file the token came from (TokenFile or the generated
	// file), "" for an inline token or none.
	tokenFile string

	// tokenSum is the SHA-256 of the bearer token; hasToken says whether one is
	// configured. Comparing digests keeps the comparison constant-time whatever the
	// presented length.
	tokenSum [sha256.Size]byte
	hasToken bool

	mu     sync.Mutex
	state  int
	public map[string]bool // mux patterns served without a token
	signed map[string]bool // public patterns that authenticate by URL signature (HandleSigned)
	srv    *http.Server
	addr   string

	wg        sync.WaitGroup // the Serve goroutine
	closeOnce sync.Once
	closeErr  error
}

// New validates cfg, finds the bearer token and builds the routes. It does
// not listen: call Start. The token is cfg.Token, or read from cfg.TokenFile,
// or (cfg.RequireToken with neither set) read from cfg.GeneratedTokenFile,
// which New creates with a random token if it does not exist
// (loadOrCreateTokenFile; ErrTokenFileUnsafe for a file others could read or
// replace). RequireToken with no source at all is ErrInvalidConfig.
func New(cfg Config, deps Deps, logger zerolog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := logger.With().Str(logfield.Component, component).Logger()
	s := &Server{
		cfg:        cfg,
		deps:       deps,
		log:        log,
		refusedLog: log.Sample(&zerolog.BurstSampler{Burst: refusalBurst, Period: refusalPeriod}),
		mux:        http.NewServeMux(),
		public:     make(map[string]bool),
		signed:     make(map[string]bool),
	}
	for _, h := range cfg.AllowedHosts {
		s.allowedHosts = append(s.allowedHosts, strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
	}
	token := cfg.Token
	switch {
	case cfg.TokenFile != "":
		t, err := s.readTokenFile(cfg.TokenFile)
		if err != nil {
			return nil, err
		}
		token, s.tokenFile = t, cfg.TokenFile
	case cfg.Token == "" && cfg.RequireToken:
		if cfg.GeneratedTokenFile == "" {
			return nil, invalidf("token: require_token is true but no token, token_file or data directory for a generated token is set")
		}
		t, created, err := loadOrCreateTokenFile(cfg.GeneratedTokenFile)
		if err != nil {
			return nil, fmt.Errorf("admin token file: %w", err)
		}
		token, s.tokenFile = t, cfg.GeneratedTokenFile
		if created {
			s.log.Info().Str(logfield.TokenFile, s.tokenFile).Msg("admin token created")
		}
	}
	if token != "" {
		s.tokenSum = sha256.Sum256([]byte(token))
		s.hasToken = true
	}

	s.mux.HandleFunc(healthzPattern, s.handleHealthz)
	s.public[healthzPattern] = true
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)
	s.public["GET /readyz"] = true
	s.mux.HandleFunc("GET /api/v1/version", s.handleVersion)
	if deps.Metrics != nil {
		s.mux.Handle("GET /metrics", s.metricsHandler())
	}
	return s, nil
}

// TokenRequired reports whether routes other than /healthz, /readyz and
// public ones require the bearer token.
func (s *Server) TokenRequired() bool { return s.hasToken }

// TokenFile returns the file the token was read from (token_file or the
// generated file), "" when the token is inline or there is none.
func (s *Server) TokenFile() string { return s.tokenFile }

// readTokenFile reads and checks the operator's token file. A file readable
// by group or others is accepted with a warning (the generated file is held
// to a stricter rule: loadOrCreateTokenFile).
func (s *Server) readTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token_file: %q: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		s.log.Warn().Str(logfield.Path, path).Str(logfield.Reason, "mode "+fi.Mode().Perm().String()).
			Msg("admin token file is readable by group or others")
	}
	t := strings.TrimSpace(string(b))
	if err := checkToken(t); err != nil {
		return "", fmt.Errorf("token_file: %q: %w", path, err)
	}
	return t, nil
}

// Handle adds a route that requires the bearer token when one is configured.
// pattern is a net/http.ServeMux pattern ("GET /api/v1/clients/{id}"). Call it
// before Start: afterwards it returns ErrAlreadyStarted. A pattern the mux refuses
// returns ErrInvalidPattern.
func (s *Server) Handle(pattern string, h http.Handler) error {
	return s.handle(pattern, h, false)
}

// HandlePublic adds a route served WITHOUT the bearer token check, for handlers
// that authenticate on their own (for example a web client that logs in over
// MQTT). Same rules as Handle otherwise.
func (s *Server) HandlePublic(pattern string, h http.Handler) error {
	return s.handle(pattern, h, true)
}

// HandleSigned adds a public route whose requests carry their own
// authorisation in a signed URL (the embedded media store): no bearer token
// and no Content-Type: application/json rule for its PUTs (the signature, not
// the content type, stops cross-site forgery). Same rules as Handle otherwise.
func (s *Server) HandleSigned(pattern string, h http.Handler) error {
	if err := s.handle(pattern, h, true); err != nil {
		return err
	}
	s.mu.Lock()
	s.signed[pattern] = true
	s.mu.Unlock()
	return nil
}

func (s *Server) handle(pattern string, h http.Handler, public bool) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return ErrAlreadyStarted
	}
	if h == nil {
		return fmt.Errorf("%w: %q: nil handler", ErrInvalidPattern, pattern)
	}
	defer func() {
		// ServeMux.Handle panics on malformed or conflicting patterns.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %q: %v", ErrInvalidPattern, pattern, r)
		}
	}()
	s.mux.Handle(pattern, h)
	if public {
		s.public[pattern] = true
	}
	return nil
}

// Start binds cfg.Address and serves in a goroutine owned by s until Close. It
// returns ErrAlreadyStarted on a second call and ErrClosed after Close.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateStarted:
		return ErrAlreadyStarted
	case stateClosed:
		return ErrClosed
	}
	ln, err := net.Listen("tcp", s.cfg.Address)
	if err != nil {
		return fmt.Errorf("admin: listen %q: %w", s.cfg.Address, err)
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          log.New(errorLogWriter{s.log}, "", 0),
	}
	s.addr = ln.Addr().String()
	s.state = stateStarted
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Str(logfield.Listener, s.addr).Msg("admin server stopped")
		}
	}()
	s.log.Info().Str(logfield.Listener, s.addr).Bool(logfield.TokenRequired, s.hasToken).
		Str(logfield.TokenFile, s.tokenFile).Msg("admin server listening")
	if !s.hasToken {
		s.log.Warn().Str(logfield.Listener, s.addr).
			Msg("admin API without a token (admin.require_token: false): any local process can use it")
	}
	return nil
}

// Addr returns the bound address ("127.0.0.1:41234") once started, else "".
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Close stops accepting, waits for in-flight requests until ctx is done (then
// closes their connections), and waits for the serving goroutine. It is
// idempotent: later and concurrent calls wait for the first and return its result.
// Closing a Server that never started only marks it closed.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		started := s.state == stateStarted
		s.state = stateClosed
		srv := s.srv
		s.mu.Unlock()
		if !started {
			return
		}
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
			s.closeErr = fmt.Errorf("admin: shutdown: %w", err)
		}
		s.wg.Wait()
		s.log.Info().Str(logfield.Listener, s.addr).Msg("admin server stopped")
	})
	return s.closeErr
}

// errorLogWriter sends net/http's own error lines (TLS errors, malformed requests,
// handler panics) to zerolog. The line text is the reason; it never holds headers.
type errorLogWriter struct{ log zerolog.Logger }

func (w errorLogWriter) Write(p []byte) (int, error) {
	w.log.Warn().Str(logfield.Reason, strings.TrimSpace(string(p))).Msg("admin http error")
	return len(p), nil
}
