package cluster

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// A durable state machine and a restarted node: no second bootstrap, nothing
// replayed into the state machine, and writes continue.
func TestRestartDurableStateMachine(t *testing.T) {
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			checkGoroutines(t)
			dir := t.TempDir()
			kvPath := filepath.Join(dir, "kv.jsonl")
			cfg := testConfig(t, dir, store)
			want := cmdNames("before", 30)

			kv := openKV(t, kvPath)
			n := openNode(t, cfg, kv)
			applyConcurrently(t, n, want)
			term := n.Status().Term
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}
			if err := n.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			_ = kv.Close()

			kv2 := openKV(t, kvPath)
			n2 := openNode(t, cfg, kv2)
			if n2.bootstrapped {
				t.Fatal("restarted node bootstrapped again")
			}
			if st := n2.Status(); st.Term <= term || len(st.Servers) != 1 {
				t.Fatalf("after restart: %+v (term before %d)", st, term)
			}
			if _, calls, _ := kv2.state(); calls != 0 {
				t.Fatalf("durable state machine was handed %d entries on restart, want 0", calls)
			}
			more := cmdNames("after", 5)
			applyConcurrently(t, n2, more)
			kv2.checkExactlyOnce(t, append(want, more...))
		})
	}
}

// An in-memory state machine starts empty on restart: the node replays the
// whole log into it, each command exactly once.
func TestRestartReplaysLogIntoEmptyStateMachine(t *testing.T) {
	checkGoroutines(t)
	dir := t.TempDir()
	cfg := testConfig(t, dir, LogStoreWAL)
	want := cmdNames("cmd", 40)
	n := openNode(t, cfg, newMemKV())
	applyConcurrently(t, n, want)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	kv := newMemKV()
	n2 := openNode(t, cfg, kv)
	if n2.bootstrapped {
		t.Fatal("restarted node bootstrapped again")
	}
	// WaitReady returned after the leader's barrier: everything is applied.
	kv.checkExactlyOnce(t, want)
}

// Snapshot, compaction, more writes, restart with an empty state machine: the
// node restores the snapshot (the log no longer starts at 1) and replays the
// rest.
func TestSnapshotRestoreOnRestart(t *testing.T) {
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			checkGoroutines(t)
			dir := t.TempDir()
			cfg := testConfig(t, dir, store)
			cfg.TrailingLogs = 2
			first, second := cmdNames("first", 30), cmdNames("second", 30)

			n := openNode(t, cfg, newMemKV())
			for _, c := range first {
				mustApply(t, n, c) // one entry each, so compaction has something to drop
			}
			if err := n.Snapshot(context.Background()); err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			firstIndex, err := n.logs.FirstIndex()
			if err != nil {
				t.Fatal(err)
			}
			if firstIndex <= 2 {
				t.Fatalf("log not compacted after snapshot: first index %d", firstIndex)
			}
			applyConcurrently(t, n, second)
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}

			kv := newMemKV()
			n2 := openNode(t, cfg, kv)
			if r := kv.restoreCount(); r != 1 {
				t.Fatalf("state machine restored %d times, want 1", r)
			}
			if st := n2.Status(); st.LastSnapshotIndex == 0 {
				t.Fatalf("no snapshot index in status %+v", st)
			}
			kv.checkExactlyOnce(t, append(first, second...))
		})
	}
}

func TestOpenRefusesMismatchedState(t *testing.T) {
	checkGoroutines(t)
	t.Run("state machine ahead of an empty raft dir", func(t *testing.T) {
		kv := newMemKV()
		kv.applied = 7
		_, err := Open(context.Background(), testConfig(t, t.TempDir(), LogStoreWAL), kv, testLogger(t))
		if !errors.Is(err, ErrStateMismatch) {
			t.Fatalf("Open = %v, want ErrStateMismatch", err)
		}
	})
	t.Run("log store kind switched", func(t *testing.T) {
		dir := t.TempDir()
		n := openNode(t, testConfig(t, dir, LogStoreWAL), newMemKV())
		mustApply(t, n, "x")
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := Open(context.Background(), testConfig(t, dir, LogStoreBadger), newMemKV(), testLogger(t))
		if !errors.Is(err, ErrStateMismatch) {
			t.Fatalf("Open with the other log store = %v, want ErrStateMismatch", err)
		}
	})
	t.Run("directory locked", func(t *testing.T) {
		dir := t.TempDir()
		openNode(t, testConfig(t, dir, LogStoreWAL), newMemKV())
		_, err := Open(context.Background(), testConfig(t, dir, LogStoreWAL), newMemKV(), testLogger(t))
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("second Open = %v, want ErrLocked", err)
		}
	})
	t.Run("invalid config", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir(), "sqlite")
		if _, err := Open(context.Background(), cfg, newMemKV(), testLogger(t)); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("Open = %v, want ErrInvalidConfig", err)
		}
	})
}
