package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/testkit"
)

// testLogger writes through t.Log at info (warn in benchmarks; debug with
// IMQTT_TEST_DEBUG=1).
func testLogger(t testing.TB) zerolog.Logger {
	level := zerolog.InfoLevel
	if _, ok := t.(*testing.B); ok {
		level = zerolog.WarnLevel // benchmarks print every log line
	}
	if os.Getenv("IMQTT_TEST_DEBUG") != "" {
		level = zerolog.DebugLevel
	}
	return zerolog.New(zerolog.NewTestWriter(t)).Level(level).With().Timestamp().Logger()
}

// testSecret is the cluster secret of the test nodes (testConfig).
const testSecret = "imqtt-cluster-test-secret-0123456789abcdef"

// testConfig is a single-node config on a free loopback port with fast raft
// timing and the shared testSecret.
func testConfig(t testing.TB, dir, store string) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.NodeID = "n1"
	cfg.DataDir = dir
	cfg.Secret = testSecret
	cfg.BindAddr = "127.0.0.1:0"
	cfg.LogStore = store
	cfg.HeartbeatTimeout = 100 * time.Millisecond
	cfg.ElectionTimeout = 100 * time.Millisecond
	cfg.LeaderLeaseTimeout = 50 * time.Millisecond
	return cfg
}

// openNode opens a node and waits until it is ready; Close is registered as
// cleanup (Close is idempotent, so tests may close earlier).
func openNode(t testing.TB, cfg Config, sm StateMachine) *Node {
	t.Helper()
	n := openNodeNoWait(t, cfg, sm)
	waitReady(t, n)
	return n
}

func openNodeNoWait(t testing.TB, cfg Config, sm StateMachine) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := Open(ctx, cfg, sm, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return n
}

func waitReady(t testing.TB, n *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := n.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady(%s): %v (status %+v)", n.ID(), err, n.Status())
	}
}

// eventually polls cond until it is true or the deadline passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, d, what, cond)
}

// checkGoroutines registers a cleanup, run after the test's other cleanups
// (which close the nodes), that fails if more goroutines remain than when it
// was called.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			now := runtime.NumGoroutine()
			if now <= before {
				return
			}
			if time.Now().After(deadline) {
				var buf bytes.Buffer
				_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
				t.Errorf("goroutine leak: %d before, %d after Close\n%s", before, now, buf.String())
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// mustApply applies cmd and fails the test on error.
func mustApply(t testing.TB, n *Node, cmd string) kvResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := n.Apply(ctx, []byte(cmd))
	if err != nil {
		t.Fatalf("Apply(%q) on %s: %v", cmd, n.ID(), err)
	}
	r, ok := res.(kvResult)
	if !ok {
		t.Fatalf("Apply(%q) result %T %v", cmd, res, res)
	}
	return r
}

func cmdNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}
