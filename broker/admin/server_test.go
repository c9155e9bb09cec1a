package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

const token = "s3cret-admin-token-0123456789"

// newTestServer starts an admin server on 127.0.0.1:0 and closes it at cleanup.
func newTestServer(t *testing.T, cfg admin.Config, deps admin.Deps, setup ...func(*admin.Server)) *admin.Server {
	t.Helper()
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1:0"
	}
	s, err := admin.New(cfg, deps, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, f := range setup {
		f(s)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// testConfig is the default on 127.0.0.1:0 with the token opted out
// (require_token: false); tokenConfig sets the inline token instead.
func testConfig() admin.Config {
	c := admin.DefaultConfig()
	c.Address = "127.0.0.1:0"
	c.RequireToken = false
	return c
}

func tokenConfig() admin.Config {
	c := testConfig()
	c.RequireToken, c.Token = true, token
	return c
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends one request; auth is the full Authorization header value ("" for none).
func do(t *testing.T, method, url, auth string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// jsonError decodes {"error":{"code","message"}} and returns the code.
func jsonError(t *testing.T, r response) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json (body %q)", ct, r.body)
	}
	var v struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if v.Error.Code == "" || v.Error.Message == "" {
		t.Fatalf("error body %q lacks code or message", r.body)
	}
	return v.Error.Code
}

func TestHealthzAndReadyz(t *testing.T) {
	var notReady atomic.Pointer[error]
	reason := errors.New("raft: no leader")
	notReady.Store(&reason)
	s := newTestServer(t, testConfig(), admin.Deps{Ready: func() error {
		if p := notReady.Load(); p != nil {
			return *p
		}
		return nil
	}})
	base := "http://" + s.Addr()

	r := do(t, "GET", base+"/healthz", "")
	if r.status != 200 || r.body != "ok\n" {
		t.Fatalf("/healthz = %d %q, want 200 ok", r.status, r.body)
	}

	r = do(t, "GET", base+"/readyz", "")
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d %q, want 503", r.status, r.body)
	}
	var rb struct{ Status, Reason string }
	if err := json.Unmarshal([]byte(r.body), &rb); err != nil || rb.Status != "not_ready" || rb.Reason != "raft: no leader" {
		t.Fatalf("/readyz body %q (%v), want not_ready with the reason", r.body, err)
	}

	notReady.Store(nil)
	r = do(t, "GET", base+"/readyz", "")
	if r.status != 200 || !strings.Contains(r.body, `"status":"ready"`) {
		t.Fatalf("/readyz = %d %q, want 200 ready", r.status, r.body)
	}

	notReady.Store(&reason)
	if r = do(t, "GET", base+"/readyz", ""); r.status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz after flipping back = %d, want 503", r.status)
	}
}

func TestReadyWithoutFuncIsReady(t *testing.T) {
	s := newTestServer(t, testConfig(), admin.Deps{})
	if r := do(t, "GET", "http://"+s.Addr()+"/readyz", ""); r.status != 200 {
		t.Fatalf("/readyz = %d %q, want 200", r.status, r.body)
	}
	// No Metrics: no /metrics route.
	r := do(t, "GET", "http://"+s.Addr()+"/metrics", "")
	if r.status != 404 || jsonError(t, r) != "not_found" {
		t.Fatalf("/metrics without Metrics = %d %q, want 404 not_found", r.status, r.body)
	}
}

func TestTokenRequiredOnEveryRouteButProbes(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "imqtt_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)

	cfg := tokenConfig()
	s := newTestServer(t, cfg, admin.Deps{Metrics: reg, Version: admin.Version{Version: "v1.2.3"}}, func(s *admin.Server) {
		if err := s.Handle("GET /api/v1/private", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			admin.WriteJSON(w, 200, map[string]string{"secret": "yes"})
		})); err != nil {
			t.Fatal(err)
		}
		if err := s.HandlePublic("GET /web/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "web client")
		})); err != nil {
			t.Fatal(err)
		}
	})
	base := "http://" + s.Addr()

	if r := do(t, "GET", base+"/healthz", ""); r.status != 200 {
		t.Fatalf("/healthz without token = %d, want 200", r.status)
	}
	if r := do(t, "GET", base+"/readyz", ""); r.status != 200 {
		t.Fatalf("/readyz without token = %d, want 200", r.status)
	}
	if r := do(t, "GET", base+"/web/index.html", ""); r.status != 200 || r.body != "web client" {
		t.Fatalf("public route without token = %d %q, want 200", r.status, r.body)
	}

	for _, path := range []string{"/metrics", "/api/v1/version", "/api/v1/private", "/no/such/route"} {
		for _, auth := range []string{"", "Bearer wrong-token-0123456789", "Basic " + token, "Bearer " + token + "x", "Bearer " + token[:len(token)-1], token} {
			r := do(t, "GET", base+path, auth)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("GET %s with %q = %d %q, want 401", path, auth, r.status, r.body)
			}
			if code := jsonError(t, r); code != "unauthorized" {
				t.Fatalf("GET %s: error code %q, want unauthorized", path, code)
			}
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("GET %s: WWW-Authenticate = %q", path, r.header.Get("WWW-Authenticate"))
			}
		}
	}

	good := "Bearer " + token
	if r := do(t, "GET", base+"/readyz", good); r.status != 200 {
		t.Fatalf("/readyz with token = %d %q", r.status, r.body)
	}
	if r := do(t, "GET", base+"/api/v1/version", "bearer "+token); r.status != 200 {
		t.Fatalf("version with lower-case scheme = %d %q", r.status, r.body)
	}
	if r := do(t, "GET", base+"/api/v1/private", good); r.status != 200 || !strings.Contains(r.body, `"secret":"yes"`) {
		t.Fatalf("mounted route with token = %d %q", r.status, r.body)
	}
	r := do(t, "GET", base+"/metrics", good)
	if r.status != 200 || !strings.Contains(r.body, "imqtt_test_total 3") {
		t.Fatalf("/metrics with token = %d %q", r.status, r.body)
	}
	r = do(t, "GET", base+"/api/v1/version", good)
	var v map[string]string
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || r.status != 200 {
		t.Fatalf("/api/v1/version = %d %q (%v)", r.status, r.body, err)
	}
	if v["name"] != "imqtt" || v["version"] != "v1.2.3" || !strings.HasPrefix(v["go_version"], "go") || v["mochi_version"] == "" {
		t.Fatalf("/api/v1/version = %v", v)
	}

	r = do(t, "GET", base+"/no/such/route", good)
	if r.status != 404 || jsonError(t, r) != "not_found" {
		t.Fatalf("unknown route with token = %d %q, want 404 JSON", r.status, r.body)
	}
	r = do(t, "POST", base+"/readyz", good)
	if r.status != 405 || jsonError(t, r) != "method_not_allowed" || !strings.Contains(r.header.Get("Allow"), "GET") {
		t.Fatalf("POST /readyz = %d %q allow=%q, want 405 JSON", r.status, r.body, r.header.Get("Allow"))
	}
}

func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte("  "+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Address = "0.0.0.0:0" // non-loopback is fine with a token file
	cfg.RequireToken, cfg.TokenFile = true, path
	s := newTestServer(t, cfg, admin.Deps{})
	_, port, _ := net.SplitHostPort(s.Addr())
	base := "http://127.0.0.1:" + port
	if r := do(t, "GET", base+"/api/v1/version", ""); r.status != 401 {
		t.Fatalf("version without token = %d", r.status)
	}
	if r := do(t, "GET", base+"/api/v1/version", "Bearer "+token); r.status != 200 {
		t.Fatalf("version with the file's token = %d %q", r.status, r.body)
	}
	if s.TokenFile() != path || !s.TokenRequired() {
		t.Fatalf("TokenFile() = %q, TokenRequired() = %v", s.TokenFile(), s.TokenRequired())
	}

	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.TokenFile = short
	if _, err := admin.New(cfg, admin.Deps{}, zerolog.Nop()); !errors.Is(err, admin.ErrInvalidToken) {
		t.Fatalf("New with a short token file = %v, want ErrInvalidToken", err)
	}
	cfg.TokenFile = filepath.Join(dir, "missing")
	if _, err := admin.New(cfg, admin.Deps{}, zerolog.Nop()); !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "token_file: ") {
		t.Fatalf("New with a missing token file = %v, want fs.ErrNotExist naming token_file", err)
	}
}

func TestNewRefusesNonLoopbackWithoutToken(t *testing.T) {
	cfg := testConfig() // require_token: false
	cfg.Address = "0.0.0.0:0"
	_, err := admin.New(cfg, admin.Deps{}, zerolog.Nop())
	if !errors.Is(err, admin.ErrTokenRequired) {
		t.Fatalf("New = %v, want ErrTokenRequired", err)
	}
	// require_token (the default) with nowhere to get or put a token.
	cfg.RequireToken = true
	if _, err := admin.New(cfg, admin.Deps{}, zerolog.Nop()); !errors.Is(err, admin.ErrInvalidConfig) {
		t.Fatalf("New without a token source = %v, want ErrInvalidConfig", err)
	}
}

func TestCloseIdempotentAndFreesPort(t *testing.T) {
	s, err := admin.New(testConfig(), admin.Deps{}, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != "" {
		t.Fatalf("Addr before Start = %q", s.Addr())
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); !errors.Is(err, admin.ErrAlreadyStarted) {
		t.Fatalf("second Start = %v, want ErrAlreadyStarted", err)
	}
	if err := s.Handle("GET /late", http.NotFoundHandler()); !errors.Is(err, admin.ErrAlreadyStarted) {
		t.Fatalf("Handle after Start = %v, want ErrAlreadyStarted", err)
	}
	addr := s.Addr()
	if r := do(t, "GET", "http://"+addr+"/healthz", ""); r.status != 200 {
		t.Fatalf("/healthz = %d", r.status)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Close(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Close #%d = %v", i, err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close again = %v", err)
	}
	if err := s.Start(); !errors.Is(err, admin.ErrClosed) {
		t.Fatalf("Start after Close = %v, want ErrClosed", err)
	}
	// The port is free again: Close returned only after the listener closed.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port %s still busy after Close: %v", addr, err)
	}
	ln.Close()
}

func TestCloseBeforeStart(t *testing.T) {
	s, err := admin.New(testConfig(), admin.Deps{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close before Start = %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if err := s.Start(); !errors.Is(err, admin.ErrClosed) {
		t.Fatalf("Start after Close = %v, want ErrClosed", err)
	}
}

func TestStartFailsOnBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig()
	cfg.Address = ln.Addr().String()
	s, err := admin.New(cfg, admin.Deps{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Fatal("Start on a busy port succeeded")
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close after failed Start = %v", err)
	}
}

func TestHandleInvalidPattern(t *testing.T) {
	s, err := admin.New(testConfig(), admin.Deps{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"GET /healthz", "GET /a/{x", ""} {
		if err := s.Handle(p, http.NotFoundHandler()); !errors.Is(err, admin.ErrInvalidPattern) {
			t.Errorf("Handle(%q) = %v, want ErrInvalidPattern", p, err)
		}
	}
	if err := s.Handle("GET /ok", nil); !errors.Is(err, admin.ErrInvalidPattern) {
		t.Errorf("Handle with nil handler = %v, want ErrInvalidPattern", err)
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRequestLogNamesPrincipalNotToken(t *testing.T) {
	var buf syncBuffer
	cfg := tokenConfig()
	s, err := admin.New(cfg, admin.Deps{}, zerolog.New(&buf).Level(zerolog.DebugLevel))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	base := "http://" + s.Addr()
	do(t, "GET", base+"/api/v1/version?x=1", "Bearer "+token)
	do(t, "GET", base+"/api/v1/version", "Bearer nope-nope-nope-nope")

	want := []string{
		`"component":"admin"`, `"method":"GET"`, `"path":"/api/v1/version"`, `"status":200`, `"principal":"token"`,
		`"path":"/api/v1/version"`, `"status":401`, `"principal":"anonymous"`, `"remote":"127.0.0.1:`,
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := buf.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			if strings.Contains(out, token) || strings.Contains(out, "nope-nope") || strings.Contains(out, "x=1") {
				t.Fatalf("request log leaks the token or the query:\n%s", out)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("request log lacks %s:\n%s", missing, out)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}
