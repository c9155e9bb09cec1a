package storage

import (
	"context"
	"testing"
	"time"

	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/persist"
)

// engineNode is a real persist store and single-voter raft node in a
// directory, with an EngineStore over them.
type engineNode struct {
	t     testing.TB
	dir   string
	store *persist.Store
	node  *cluster.Node
	app   *countingApplier
	es    *EngineStore
}

// openEngine opens (or reopens) dir; opts adjust the EngineOptions.
func openEngine(t testing.TB, dir string, cfg Config, opts ...func(*EngineOptions)) *engineNode {
	t.Helper()
	st, n := openReplica(t, dir)
	en := &engineNode{t: t, dir: dir, store: st, node: n, app: &countingApplier{n: n}}
	o := EngineOptions{Node: en.app, Store: st, Log: testLog(t)}
	for _, f := range opts {
		f(&o)
	}
	var err error
	en.es, err = NewEngineStore(cfg, o)
	if err != nil {
		t.Fatalf("NewEngineStore: %v", err)
	}
	en.es.Start()
	t.Cleanup(en.close)
	return en
}

// close closes the engine store, the node and the store, in that order
// (idempotent: each Close is).
func (en *engineNode) close() {
	_ = en.es.Close()
	_ = en.node.Close()
	_ = en.store.Close()
}

// ctx is a test write's context.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openReplica opens persist in dir/fsm and a single-voter raft node over it,
// ready for writes: the real write path both harnesses run on.
func openReplica(t testing.TB, dir string) (*persist.Store, *cluster.Node) {
	t.Helper()
	pc := persist.DefaultConfig()
	pc.Dir = dir + "/fsm"
	pc.MinFreeBytes = 0
	pc.ValueLogGCInterval = 0
	st, err := persist.Open(pc, testLog(t))
	if err != nil {
		t.Fatalf("persist.Open: %v", err)
	}
	cc := cluster.DefaultConfig()
	cc.NodeID = "n1"
	cc.DataDir = dir
	cc.BindAddr = "127.0.0.1:0"
	cc.HeartbeatTimeout = 100 * time.Millisecond
	cc.ElectionTimeout = 100 * time.Millisecond
	cc.LeaderLeaseTimeout = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	n, err := cluster.Open(ctx, cc, st.StateMachine(), testLog(t))
	if err != nil {
		_ = st.Close()
		t.Fatalf("cluster.Open: %v", err)
	}
	if err := n.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	return st, n
}
