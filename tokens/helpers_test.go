package tokens

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/persist"
)

// node is a real one-voter raft node over a real Badger store.
type node struct {
	store *persist.Store
	raft  *cluster.Node
}

func newNode(t testing.TB) *node {
	t.Helper()
	dir := t.TempDir()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	pc := persist.DefaultConfig()
	pc.Dir = filepath.Join(dir, "fsm")
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
	t.Cleanup(func() {
		n.Close()
		st.Close()
	})
	return &node{store: st, raft: n}
}

// revocations records what OnRevoke was told.
type revocations struct {
	mu  sync.Mutex
	ids []string
}

func (r *revocations) add(ids []string) {
	r.mu.Lock()
	r.ids = append(r.ids, ids...)
	r.mu.Unlock()
}

func (r *revocations) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.ids {
		if x == id {
			return true
		}
	}
	return false
}

// open returns an opened service on n, its observer installed.
func open(t testing.TB, n *node, cfg Config, mod func(*Options)) (*Service, *revocations) {
	t.Helper()
	rev := &revocations{}
	opts := Options{Node: n.raft, Store: n.store, Log: zerolog.New(zerolog.NewTestWriter(t)), OnRevoke: rev.add}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	remove := n.store.AddObserver(s.Observe)
	t.Cleanup(func() {
		remove()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, rev
}

func eventually(t testing.TB, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func writeFile(t testing.TB, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
