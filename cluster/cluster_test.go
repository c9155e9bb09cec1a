package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

type testMember struct {
	n  *Node
	kv *kvSM
}

// newClusterMember opens one node of a multi-node test cluster over real TCP.
func newClusterMember(t *testing.T, store, id string, bootstrap bool) testMember {
	t.Helper()
	cfg := testConfig(t, t.TempDir(), store)
	cfg.NodeID = id
	cfg.Bootstrap = bootstrap
	// raft's default timing: this machine's fsync takes tens of milliseconds
	// and -race slows everything, tighter timing makes leadership flap.
	cfg.HeartbeatTimeout = time.Second
	cfg.ElectionTimeout = time.Second
	cfg.LeaderLeaseTimeout = 500 * time.Millisecond
	cfg.ApplyTimeout = 3 * time.Second
	cfg.TrailingLogs = 4
	kv := newMemKV()
	var n *Node
	if bootstrap {
		n = openNode(t, cfg, kv)
	} else {
		n = openNodeNoWait(t, cfg, kv)
	}
	return testMember{n: n, kv: kv}
}

// waitApplied polls until kv holds exactly the commands in want, once each.
func waitApplied(t *testing.T, m testMember, want []string) {
	t.Helper()
	eventually(t, 15*time.Second, fmt.Sprintf("%s to apply %d commands", m.n.ID(), len(want)), func() bool {
		st, _, _ := m.kv.state()
		return st.Seq == uint64(len(want))
	})
	m.kv.checkExactlyOnce(t, want)
}

func TestThreeNodeCluster(t *testing.T) {
	for _, store := range stores {
		t.Run(store, func(t *testing.T) { testThreeNodeCluster(t, store) })
	}
}

func testThreeNodeCluster(t *testing.T, store string) {
	checkGoroutines(t)
	ctx := context.Background()
	m1 := newClusterMember(t, store, "n1", true)
	m2 := newClusterMember(t, store, "n2", false)
	m3 := newClusterMember(t, store, "n3", false)

	// Writes, a snapshot and log compaction before the others join: with the
	// Badger store the compacted entries are gone, so the joiners must be
	// brought up by InstallSnapshot (StateMachine.Restore) plus the log.
	// raft-wal keeps serving compacted entries that are still in its tail
	// segment, so there they may get the whole log instead.
	var want []string
	for _, c := range cmdNames("pre", 20) {
		mustApply(t, m1.n, c)
		want = append(want, c)
	}
	if err := m1.n.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range []testMember{m2, m3} {
		if err := m1.n.Join(ctx, m.n.ID(), m.n.Addr()); err != nil {
			t.Fatalf("Join(%s): %v", m.n.ID(), err)
		}
	}
	if err := m1.n.Join(ctx, "n2", m2.n.Addr()); err != nil {
		t.Fatalf("second Join(n2) is not a no-op: %v", err)
	}
	waitReady(t, m2.n)
	waitReady(t, m3.n)
	if v := m1.n.Status().Voters(); len(v) != 3 {
		t.Fatalf("voters %v, want 3", v)
	}

	more := cmdNames("c", 50)
	applyConcurrently(t, m1.n, more)
	want = append(want, more...)
	for _, m := range []testMember{m1, m2, m3} {
		waitApplied(t, m, want)
	}
	for _, m := range []testMember{m2, m3} {
		if _, calls, _ := m.kv.state(); store == LogStoreBadger && m.kv.restoreCount() == 0 {
			t.Errorf("%s was not brought up from a snapshot (%d entries applied)", m.n.ID(), calls)
		}
	}

	// Followers refuse writes and name the leader.
	_, err := m2.n.Apply(ctx, []byte("on-follower"))
	var nle *NotLeaderError
	if !errors.As(err, &nle) || !errors.Is(err, ErrNotLeader) || nle.LeaderID != "n1" || nle.LeaderAddr != m1.n.Addr() {
		t.Fatalf("Apply on follower = %v, want NotLeaderError naming n1 at %s", err, m1.n.Addr())
	}
	if err := m2.n.Join(ctx, "n9", "127.0.0.1:9"); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Join on follower = %v, want ErrNotLeader", err)
	}

	// Kill the leader: one of the others takes over and accepts writes.
	if err := m1.n.Close(); err != nil {
		t.Fatal(err)
	}
	var leader, follower testMember
	eventually(t, 15*time.Second, "a new leader", func() bool {
		switch {
		case m2.n.IsLeader():
			leader, follower = m2, m3
		case m3.n.IsLeader():
			leader, follower = m3, m2
		default:
			return false
		}
		return true
	})
	waitReady(t, leader.n)
	mustApply(t, leader.n, "after-failover")
	want = append(want, "after-failover")
	waitApplied(t, follower, want)
	waitApplied(t, leader, want)
	if id, _ := follower.n.Leader(); id != leader.n.ID() {
		t.Fatalf("follower sees leader %q, want %q", id, leader.n.ID())
	}

	if err := leader.n.Remove(ctx, "n1"); err != nil {
		t.Fatalf("Remove(n1): %v", err)
	}
	if v := leader.n.Status().Voters(); len(v) != 2 {
		t.Fatalf("voters after Remove: %v", v)
	}

	// Minority: alone, the last node refuses durable writes promptly.
	if err := follower.n.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = leader.n.Apply(ctx, []byte("in-minority"))
	if !errorsIsAny(err, ErrNoQuorum, ErrTimeout) {
		t.Fatalf("Apply in a minority = %v, want ErrNoQuorum or ErrTimeout", err)
	}
	if el := time.Since(start); el > 2*leader.n.cfg.ApplyTimeout {
		t.Fatalf("Apply in a minority took %s", el)
	}
	eventually(t, 10*time.Second, "the lone node to step down", func() bool {
		return !leader.n.IsLeader() && errors.Is(leader.n.Ready(), ErrNoQuorum)
	})
}
