package persist

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

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

// TestGCLoopStops: the GC loop runs on its interval and Close stops it and every
// Badger goroutine: the goroutine count returns to the baseline.
func TestGCLoopStops(t *testing.T) {
	check := goroutineBaseline(t)
	var logs syncBuffer
	cfg := testConfig(t)
	cfg.ValueLogGCInterval = time.Second
	s, err := Open(cfg, zerolog.New(&logs).Level(zerolog.DebugLevel))
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("v"), 100<<10) // above the value threshold: in the value log
	for i := uint64(1); i <= 20; i++ {
		mustApply(t, s, i, []Op{PutRawOp([]byte("x/big"), big, 0)})
	}
	waitFor(t, 10*time.Second, "a gc pass", func() bool {
		return strings.Contains(logs.String(), `"message":"value log gc"`)
	})
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("close took %v", d)
	}
	check()
	if !strings.Contains(logs.String(), `"component":"badger"`) {
		t.Fatal("no badger log line went through the zerolog adapter")
	}
	if strings.Contains(logs.String(), string(big[:64])) {
		t.Fatal("a value was logged")
	}
}

func TestOpenCloseNoLeak(t *testing.T) {
	check := goroutineBaseline(t)
	for _, cfg := range []Config{testConfig(t), memConfig()} {
		cfg.ValueLogGCInterval = 0
		if !cfg.InMemory {
			cfg.ValueLogGCInterval = time.Hour
		}
		s, err := Open(cfg, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		mustApply(t, s, 1, []Op{PutSessionOp(sess("c"))})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	check()
}
