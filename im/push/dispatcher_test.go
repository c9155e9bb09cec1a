package push

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/testkit"
)

const secret = "s3cret"

type hit struct {
	id, ts, sig string
	body        []byte
}

// server is a real HTTP webhook answering with the statuses in order (the last
// one repeats).
type server struct {
	*httptest.Server
	mu     sync.Mutex
	hits   []hit
	status []int
	hang   chan struct{}
}

func newServer(t *testing.T, status ...int) *server {
	s := &server{status: status}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.hits = append(s.hits, hit{r.Header.Get("X-Imqtt-Event-Id"), r.Header.Get("X-Imqtt-Timestamp"), r.Header.Get("X-Imqtt-Signature"), body})
		st := s.status[min(len(s.hits)-1, len(s.status)-1)]
		hang := s.hang
		s.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(st)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.hits) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, what, cond)
}

func newDispatcher(t *testing.T, url string, mod func(*Config)) *Dispatcher {
	t.Helper()
	cfg := DefaultConfig()
	cfg.URL, cfg.Secret = url, secret
	cfg.BackoffMin, cfg.BackoffMax = 5*time.Millisecond, 20*time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

var ev = Event{User: "bob", Conv: "d:alice:bob", From: "alice", Preview: "hi", ID: 123456789012345, Seq: 7, TS: 1750000000000}

func TestDeliveredAndSigned(t *testing.T) {
	s := newServer(t, 204)
	d := newDispatcher(t, s.URL, nil)
	if !d.Enqueue(ev) {
		t.Fatal("enqueue refused")
	}
	waitFor(t, "a request", func() bool { return s.count() == 1 })
	h := s.hits[0]
	if !Verify(secret, h.ts, h.body, h.sig) || Verify("other", h.ts, h.body, h.sig) || Verify(secret, h.ts+"1", h.body, h.sig) {
		t.Fatalf("signature %q does not verify as it should", h.sig)
	}
	var w map[string]any
	if err := json.Unmarshal(h.body, &w); err != nil {
		t.Fatal(err)
	}
	if w["event"] != "message" || w["user"] != "bob" || w["id"] != "123456789012345" || w["seq"] != float64(7) || w["attempt"] != float64(1) {
		t.Fatalf("body %s", h.body)
	}
	waitFor(t, "sent counter", func() bool { return d.sent.Load() == 1 })
	if n := testutil.CollectAndCount(d); n != 5 {
		t.Fatalf("%d metrics collected, want 5", n)
	}
}

func TestRetryOn500ThenSuccess(t *testing.T) {
	s := newServer(t, 500, 503, 200)
	d := newDispatcher(t, s.URL, nil)
	d.Enqueue(ev)
	waitFor(t, "three attempts", func() bool { return s.count() == 3 })
	if s.hits[0].id != s.hits[2].id || s.hits[0].id == "" {
		t.Fatalf("event ids %q %q differ", s.hits[0].id, s.hits[2].id)
	}
	waitFor(t, "sent", func() bool { return d.sent.Load() == 1 })
	if d.retries.Load() != 2 {
		t.Fatalf("%d retries, want 2", d.retries.Load())
	}
}

func TestNoRetryOn400AndGiveUp(t *testing.T) {
	s := newServer(t, 400)
	d := newDispatcher(t, s.URL, nil)
	d.Enqueue(ev)
	waitFor(t, "failed", func() bool { return d.failed.Load() == 1 })
	time.Sleep(50 * time.Millisecond)
	if s.count() != 1 {
		t.Fatalf("%d attempts on a 400, want 1", s.count())
	}
	s2 := newServer(t, 500)
	d2 := newDispatcher(t, s2.URL, func(c *Config) { c.MaxAttempts = 3 })
	d2.Enqueue(ev)
	waitFor(t, "given up", func() bool { return d2.failed.Load() == 1 })
	if s2.count() != 3 {
		t.Fatalf("%d attempts, want max_attempts 3", s2.count())
	}
}

func TestQueueFullAndCloseWhileHanging(t *testing.T) {
	before := runtime.NumGoroutine()
	s := newServer(t, 200)
	s.hang = make(chan struct{})
	d := newDispatcher(t, s.URL, func(c *Config) { c.Queue, c.Workers, c.Timeout = 2, 1, 5*time.Second })
	d.Enqueue(ev)
	waitFor(t, "the hanging request", func() bool { return s.count() == 1 })
	okA, okB, okC := d.Enqueue(ev), d.Enqueue(ev), d.Enqueue(ev)
	if !okA || !okB || okC {
		t.Fatalf("queue of 2: enqueues %v %v %v, want true true false", okA, okB, okC)
	}
	start := time.Now()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Close took %s with a hanging webhook", el)
	}
	if err := d.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if got := d.dropped.Load(); got != 4 { // the full queue, two queued, the cancelled one
		t.Fatalf("dropped %d, want 4", got)
	}
	if d.Enqueue(ev) {
		t.Fatal("enqueue after Close accepted")
	}
	close(s.hang)
	s.Close()
	waitFor(t, "goroutines to settle", func() bool { return runtime.NumGoroutine() <= before+2 })
}

func TestConfig(t *testing.T) {
	good := DefaultConfig()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*Config){
		func(c *Config) { c.URL = "ftp://x" },
		func(c *Config) { c.URL = "http://x" }, // no secret
		func(c *Config) { c.Queue = 0 },
		func(c *Config) { c.Workers = 0 },
		func(c *Config) { c.MaxAttempts = 0 },
		func(c *Config) { c.BackoffMax = time.Millisecond; c.BackoffMin = time.Second },
		func(c *Config) { c.Timeout = 0 },
	}
	for i, m := range bad {
		c := DefaultConfig()
		m(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("case %d: %v", i, err)
		}
	}
	if _, err := New(DefaultConfig(), zerolog.Nop()); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("New without url: %v", err)
	}
}
