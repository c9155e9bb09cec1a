package accounts

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/internal/testkit"
	"github.com/imqtt/imqtt/persist"
)

// harness is a real single-voter raft node over a real store in a temp dir
// with the service on top, recording the changes it is told about.
type harness struct {
	t     testing.TB
	store *persist.Store
	node  *cluster.Node
	svc   *Service

	mu      sync.Mutex
	changes []Change
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	dir := t.TempDir()
	log := testkit.Logger(t, zerolog.WarnLevel)
	pc := persist.DefaultConfig()
	pc.Dir = dir + "/fsm"
	pc.MinFreeBytes = 0
	pc.ValueLogGCInterval = 0
	st, err := persist.Open(pc, log)
	if err != nil {
		t.Fatalf("persist.Open: %v", err)
	}
	cc := cluster.DefaultConfig()
	cc.NodeID = "n1"
	cc.DataDir = dir
	cc.BindAddr = "127.0.0.1:0"
	cc.Bootstrap = true
	cc.HeartbeatTimeout = 100 * time.Millisecond
	cc.ElectionTimeout = 100 * time.Millisecond
	cc.LeaderLeaseTimeout = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := cluster.Open(ctx, cc, st.StateMachine(), log)
	if err != nil {
		st.Close()
		t.Fatalf("cluster.Open: %v", err)
	}
	if err := n.WaitReady(ctx); err != nil {
		n.Close()
		st.Close()
		t.Fatalf("WaitReady: %v", err)
	}
	h := &harness{t: t, store: st, node: n}
	cfg := DefaultConfig()
	cfg.BcryptCost = 4 // tests: fast hashes
	h.svc, err = New(cfg, Options{Node: n, Store: st, Log: log, OnChange: h.record})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := h.svc.Close(); err != nil {
			t.Errorf("service close: %v", err)
		}
		if err := h.svc.Close(); err != nil { // idempotent
			t.Errorf("second close: %v", err)
		}
		if err := n.Close(); err != nil {
			t.Errorf("node close: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	return h
}

func (h *harness) record(c Change) {
	h.mu.Lock()
	h.changes = append(h.changes, c)
	h.mu.Unlock()
}

// waitChanges polls until n changes were recorded and returns them.
func (h *harness) waitChanges(n int) []Change {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		got := append([]Change(nil), h.changes...)
		h.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("saw %d changes, want %d: %+v", len(got), n, got)
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
}

func bg() context.Context { return context.Background() }

func ptr[T any](v T) *T { return &v }
