package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestForwardedWrites: every node takes writes; a follower forwards them to the
// leader over the cluster port and returns the leader's result; membership
// changes go through any node; after a leader change forwards follow the new
// leader.
func TestForwardedWrites(t *testing.T) {
	checkGoroutines(t)
	ctx := context.Background()
	m1 := newClusterMember(t, LogStoreBadger, "n1", true)
	m2 := newClusterMember(t, LogStoreBadger, "n2", false)
	m3 := newClusterMember(t, LogStoreBadger, "n3", false)
	// n2 joins through the leader's port, n3 through n2 (a follower).
	jctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := m2.n.JoinVia(jctx, m1.n.Addr()); err != nil {
		t.Fatal(err)
	}
	waitReady(t, m2.n)
	if err := m3.n.JoinVia(jctx, m2.n.Addr()); err != nil {
		t.Fatal(err)
	}
	waitReady(t, m3.n)
	if v := m1.n.Status().Voters(); len(v) != 3 {
		t.Fatalf("voters %v, want 3", v)
	}

	// Forwarded applies return the leader's result, concurrently.
	var want []string
	var wg sync.WaitGroup
	var mu sync.Mutex
	seqs := map[uint64]bool{}
	errs := make(chan error, 100)
	for i := range 100 {
		cmd := fmt.Sprintf("fwd-%d", i)
		want = append(want, cmd)
		from := []testMember{m2, m3}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := from.n.ApplyForward(ctx, []byte(cmd))
			if err != nil {
				errs <- fmt.Errorf("%s via %s: %w", cmd, from.n.ID(), err)
				return
			}
			r, ok := res.(kvResult)
			if !ok || r.Cmd != cmd || r.Seq == 0 {
				errs <- fmt.Errorf("%s via %s: result %#v", cmd, from.n.ID(), res)
				return
			}
			mu.Lock()
			seqs[r.Seq] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(seqs) != 100 {
		t.Fatalf("%d distinct seqs, want 100", len(seqs))
	}
	for _, m := range []testMember{m1, m2, m3} {
		waitApplied(t, m, want)
	}

	// A command the state machine refuses comes back as its own error (ResultCodec).
	if _, err := m2.n.ApplyForward(ctx, []byte("fail:x")); !errors.Is(err, errKVRefused) {
		t.Fatalf("refused forward = %v, want errKVRefused", err)
	}
	want = append(want, "fail:x")[:len(want)] // refused: not applied

	// Leader change: forwards follow the new leader.
	if err := m1.n.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "a new leader", func() bool { return m2.n.IsLeader() || m3.n.IsLeader() })
	follower := m2
	if m2.n.IsLeader() {
		follower = m3
	}
	if _, err := follower.n.ApplyForward(ctx, []byte("after")); err != nil {
		t.Fatalf("forward after failover: %v", err)
	}
	// Remove through the follower.
	if err := follower.n.RemoveForward(ctx, "n1"); err != nil {
		t.Fatalf("RemoveForward(n1) via %s: %v", follower.n.ID(), err)
	}
	if v := follower.n.Status().Voters(); len(v) != 2 {
		eventually(t, 5*time.Second, "2 voters", func() bool { return len(follower.n.Status().Voters()) == 2 })
	}
}
