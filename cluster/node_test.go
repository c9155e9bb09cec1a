package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

var stores = []string{LogStoreWAL, LogStoreBadger}

func TestSingleNodeBootstrapAndApply(t *testing.T) {
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			checkGoroutines(t)
			kv := newMemKV()
			n := openNode(t, testConfig(t, t.TempDir(), store), kv)
			if !n.bootstrapped {
				t.Fatal("a fresh single node did not bootstrap")
			}
			for i, cmd := range []string{"a", "b", "c"} {
				r := mustApply(t, n, cmd)
				if r.Cmd != cmd || r.Seq != uint64(i+1) {
					t.Fatalf("Apply(%q) = %+v, want seq %d", cmd, r, i+1)
				}
			}
			st := n.Status()
			if st.State != "Leader" || st.LeaderID != "n1" || st.LeaderAddr != n.Addr() {
				t.Fatalf("status %+v: want leader n1 at %s", st, n.Addr())
			}
			if v := st.Voters(); len(v) != 1 || v[0] != "n1" {
				t.Fatalf("voters %v, want [n1]", v)
			}
			if st.AppliedIndex == 0 || st.AppliedIndex > st.CommitIndex || st.CommitIndex > st.LastLogIndex {
				t.Fatalf("indexes out of order: %+v", st)
			}
			if err := n.Ready(); err != nil {
				t.Fatalf("Ready: %v", err)
			}
			kv.checkExactlyOnce(t, []string{"a", "b", "c"})
		})
	}
}

// 100 concurrent writers: each gets its own command's result back, per-writer
// results are in the writer's order, and the batcher packs many commands per
// raft entry.
func TestConcurrentWritersGetTheirResults(t *testing.T) {
	checkGoroutines(t)
	kv := newMemKV()
	n := openNode(t, testConfig(t, t.TempDir(), LogStoreWAL), kv)
	const writers, perWriter = 100, 20
	before := n.Stats()
	startIndex := n.Status().LastLogIndex

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	seqs := make([][]uint64, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				cmd := fmt.Sprintf("w%d-%d", w, i)
				res, err := n.Apply(context.Background(), []byte(cmd))
				if err != nil {
					errs <- fmt.Errorf("Apply(%q): %w", cmd, err)
					return
				}
				r := res.(kvResult)
				if r.Cmd != cmd {
					errs <- fmt.Errorf("Apply(%q) got the result of %q", cmd, r.Cmd)
					return
				}
				seqs[w] = append(seqs[w], r.Seq)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for w, s := range seqs {
		for i, q := range s {
			if seen[q] {
				t.Fatalf("seq %d handed out twice", q)
			}
			seen[q] = true
			if i > 0 && q <= s[i-1] {
				t.Fatalf("writer %d: seq %d after %d: results out of order", w, q, s[i-1])
			}
		}
	}
	total := writers * perWriter
	if len(seen) != total {
		t.Fatalf("%d distinct seqs, want %d", len(seen), total)
	}

	after := n.Stats()
	entries := after.Entries - before.Entries
	cmds := after.Commands - before.Commands
	st, applyCalls, _ := kv.state()
	t.Logf("%d commands in %d raft entries (%.1f per entry); flushes: full %d, delay %d",
		cmds, entries, float64(cmds)/float64(entries), after.FlushFull, after.FlushDelay)
	if cmds != uint64(total) || st.Seq != uint64(total) {
		t.Fatalf("commands %d, state machine seq %d, want %d", cmds, st.Seq, total)
	}
	if uint64(applyCalls) != entries {
		t.Fatalf("state machine saw %d entries, batcher proposed %d", applyCalls, entries)
	}
	// Packing: 100 writers must not cost 100 entries per round.
	if entries*4 > cmds {
		t.Fatalf("%d entries for %d commands: the batcher does not pack", entries, cmds)
	}
	if grown := n.Status().LastLogIndex - startIndex; grown < entries || grown > entries+2 {
		t.Fatalf("raft log grew by %d entries, batcher proposed %d", grown, entries)
	}
}

func TestBatchFlushTriggers(t *testing.T) {
	checkGoroutines(t)
	t.Run("lone writer does not wait", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir(), LogStoreWAL)
		cfg.BatchMaxDelay = time.Second
		n := openNode(t, cfg, newMemKV())
		for _, c := range cmdNames("seq", 5) {
			mustApply(t, n, c)
		}
		if s := n.Stats(); s.FlushIdle != 5 || s.FlushDelay != 0 || s.Entries != 5 {
			t.Fatalf("stats %+v: want 5 batches flushed at once (nothing in flight)", s)
		}
	})
	t.Run("full", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir(), LogStoreWAL)
		cfg.BatchMaxCommands = 8
		cfg.BatchMaxDelay = time.Second
		cfg.BatchMaxInflight = 1
		kv := newMemKV()
		n := openNode(t, cfg, kv)
		release := holdPipeline(t, n, kv)
		done := applyConcurrentlyAsync(t, n, cmdNames("full", 8))
		eventually(t, 5*time.Second, "a full batch", func() bool { return n.Stats().FlushFull == 1 })
		if err := release(); err != nil {
			t.Fatal(err)
		}
		<-done
		if s := n.Stats(); s.FlushFull != 1 || s.Entries != 2 || s.Commands != 9 {
			t.Fatalf("stats %+v: want the gate entry and one full batch of 8", s)
		}
	})
	t.Run("delay", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir(), LogStoreWAL)
		cfg.BatchMaxDelay = 20 * time.Millisecond
		cfg.BatchMaxInflight = 1
		kv := newMemKV()
		n := openNode(t, cfg, kv)
		release := holdPipeline(t, n, kv)
		done := applyConcurrentlyAsync(t, n, []string{"alone"})
		eventually(t, 5*time.Second, "a batch flushed by the delay", func() bool { return n.Stats().FlushDelay == 1 })
		if err := release(); err != nil {
			t.Fatal(err)
		}
		<-done
		if s := n.Stats(); s.Entries != 2 {
			t.Fatalf("stats %+v", s)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir(), LogStoreWAL)
		cfg.BatchMaxBytes = 100
		cfg.BatchMaxDelay = time.Second
		cfg.BatchMaxCommands = 3
		cfg.BatchMaxInflight = 1
		kv := newMemKV()
		n := openNode(t, cfg, kv)
		release := holdPipeline(t, n, kv)
		// Three 60-byte commands: none fits with another, so the byte limit
		// flushes the first two; the third goes when the pipeline drains.
		cmds := []string{strings.Repeat("a", 60), strings.Repeat("b", 60), strings.Repeat("c", 60)}
		done := applyConcurrentlyAsync(t, n, cmds)
		eventually(t, 5*time.Second, "two batches flushed by the byte limit", func() bool { return n.Stats().FlushBytes == 2 })
		if err := release(); err != nil {
			t.Fatal(err)
		}
		<-done
		if s := n.Stats(); s.Entries != 4 || s.FlushBytes != 2 || s.FlushIdle != 2 {
			t.Fatalf("stats %+v: want 4 entries, 2 flushed by the byte limit", s)
		}
		if _, err := n.Apply(context.Background(), make([]byte, 101)); !errors.Is(err, ErrCommandTooLarge) {
			t.Fatalf("Apply(101 bytes) = %v, want ErrCommandTooLarge", err)
		}
	})
	t.Run("inflight limit", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir(), LogStoreWAL)
		cfg.BatchMaxDelay = time.Second
		cfg.BatchMaxInflight = 2
		kv := newMemKV()
		n := openNode(t, cfg, kv)
		release := holdPipeline(t, n, kv)
		// One entry in flight of two allowed: the next command goes at once,
		// the one after waits for the delay or for the pipeline to drain.
		first := applyConcurrentlyAsync(t, n, []string{"second-entry"})
		eventually(t, 5*time.Second, "a second entry in flight", func() bool { return n.Stats().Entries == 2 })
		third := applyConcurrentlyAsync(t, n, []string{"held"})
		eventually(t, 5*time.Second, "a held command", func() bool { return n.Stats().Pending == 1 })
		if s := n.Stats(); s.Entries != 2 || s.FlushIdle != 2 {
			t.Fatalf("stats %+v: want two entries flushed at once, one command held", s)
		}
		if err := release(); err != nil {
			t.Fatal(err)
		}
		<-first
		<-third
		kv.checkExactlyOnce(t, []string{gateCmd, "second-entry", "held"})
	})
	t.Run("zero delay", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir(), LogStoreWAL)
		cfg.BatchMaxDelay = 0
		kv := newMemKV()
		n := openNode(t, cfg, kv)
		applyConcurrently(t, n, cmdNames("idle", 50))
		if s := n.Stats(); s.FlushIdle == 0 || s.FlushDelay != 0 || s.Commands != 50 {
			t.Fatalf("stats %+v: want idle flushes only", s)
		}
		kv.checkExactlyOnce(t, cmdNames("idle", 50))
	})
}

// applyConcurrentlyAsync starts applyConcurrently and returns a channel closed
// when it has finished.
func applyConcurrentlyAsync(t *testing.T, n *Node, cmds []string) <-chan struct{} {
	done := make(chan struct{})
	errs := make(chan error, len(cmds))
	var wg sync.WaitGroup
	for _, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := n.Apply(context.Background(), []byte(c)); err != nil {
				errs <- fmt.Errorf("Apply(%q): %w", c, err)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		close(done)
	}()
	return done
}

// applyConcurrently applies each command from its own goroutine and waits.
func applyConcurrently(t *testing.T, n *Node, cmds []string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(cmds))
	for _, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := n.Apply(context.Background(), []byte(c)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// A state machine error is that command's result; the other commands of the
// same entry are applied.
func TestStateMachineErrorResult(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), LogStoreWAL)
	cfg.BatchMaxCommands = 3
	cfg.BatchMaxDelay = time.Second
	cfg.BatchMaxInflight = 1
	kv := newMemKV()
	n := openNode(t, cfg, kv)
	release := holdPipeline(t, n, kv)
	var wg sync.WaitGroup
	results := map[string]error{}
	var mu sync.Mutex
	for _, c := range []string{"ok1", "fail:x", "ok2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := n.Apply(context.Background(), []byte(c))
			mu.Lock()
			results[c] = err
			mu.Unlock()
		}()
	}
	eventually(t, 5*time.Second, "the three commands in one batch", func() bool { return n.Stats().FlushFull == 1 })
	if err := release(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if results["ok1"] != nil || results["ok2"] != nil {
		t.Fatalf("results %v", results)
	}
	if err := results["fail:x"]; err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("fail:x returned %v, want the state machine's error", err)
	}
	kv.checkExactlyOnce(t, []string{gateCmd, "ok1", "ok2"})
}
