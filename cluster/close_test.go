package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestCloseFailsPendingAndLeaksNothing(t *testing.T) {
	checkGoroutines(t)
	cfg := testConfig(t, t.TempDir(), LogStoreWAL)
	cfg.BatchMaxDelay = time.Second
	cfg.BatchMaxCommands = 1000
	cfg.BatchMaxInflight = 1
	kv := newMemKV()
	n := openNode(t, cfg, kv)
	release := holdPipeline(t, n, kv)
	const pending = 10
	errs := make(chan error, pending)
	for i := range pending {
		go func() {
			_, err := n.Apply(context.Background(), []byte(fmt.Sprintf("p%d", i)))
			errs <- err
		}()
	}
	eventually(t, 5*time.Second, "commands pending in the batcher", func() bool { return n.Stats().Pending == pending })
	// Close waits for the entry in flight, so let the state machine go on.
	closed := make(chan error, 1)
	go func() { closed <- n.Close() }()
	for range pending {
		if err := <-errs; !errors.Is(err, ErrClosed) {
			t.Fatalf("pending Apply returned %v, want ErrClosed", err)
		}
	}
	if err := release(); err != nil && !errors.Is(err, ErrClosed) {
		t.Fatalf("in-flight Apply returned %v, want nil or ErrClosed", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := n.Apply(context.Background(), []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Apply after Close = %v, want ErrClosed", err)
	}
	if err := n.Ready(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ready after Close = %v", err)
	}
	if err := n.Join(context.Background(), "x", "127.0.0.1:1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Join after Close = %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if st, _, _ := kv.state(); st.Seq != 1 || st.Counts[gateCmd] != 1 {
		t.Fatalf("unproposed commands were applied: %+v", st)
	}
}

// Close while commands are in flight (proposed, not yet answered) under load:
// every Apply returns, nothing hangs, no goroutine is left.
func TestCloseUnderLoad(t *testing.T) {
	checkGoroutines(t)
	n := openNode(t, testConfig(t, t.TempDir(), LogStoreWAL), newMemKV())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var bad sync.Map
	for w := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				_, err := n.Apply(ctx, []byte(fmt.Sprintf("w%d-%d", w, i)))
				if err == nil {
					continue
				}
				if !errors.Is(err, ErrClosed) {
					bad.Store(w, err)
				}
				return
			}
		}()
	}
	eventually(t, 5*time.Second, "some commands applied", func() bool { return n.Stats().Commands > 200 })
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	bad.Range(func(k, v any) bool {
		t.Errorf("writer %v: %v, want ErrClosed", k, v)
		return true
	})
}

func TestApplyContext(t *testing.T) {
	checkGoroutines(t)
	cfg := testConfig(t, t.TempDir(), LogStoreWAL)
	cfg.BatchMaxDelay = 300 * time.Millisecond
	cfg.BatchMaxCommands = 1000
	cfg.BatchMaxInflight = 1
	kv := newMemKV()
	n := openNode(t, cfg, kv)

	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := n.Apply(ctx, []byte("never")); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
	t.Run("cancelled while batched", func(t *testing.T) {
		release := holdPipeline(t, n, kv)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := n.Apply(ctx, []byte("cancelled"))
			done <- err
		}()
		eventually(t, 5*time.Second, "command pending", func() bool { return n.Stats().Pending == 1 })
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if err := release(); err != nil {
			t.Fatal(err)
		}
		// The batch flushes later without the abandoned command.
		mustApply(t, n, "kept")
		if s := n.Stats(); s.Abandoned != 1 {
			t.Fatalf("stats %+v: want 1 abandoned", s)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		release := holdPipeline(t, n, kv)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if _, err := n.Apply(ctx, []byte("late")); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
		if err := release(); err != nil {
			t.Fatal(err)
		}
	})
	n.Close()
	st, _, _ := kv.state()
	if st.Counts["cancelled"] != 0 || st.Counts["never"] != 0 || st.Counts["late"] != 0 || st.Counts["kept"] != 1 {
		t.Fatalf("state %+v", st.Counts)
	}
}

// A node that never bootstraps has no leader: Apply gives ErrNoQuorum after
// ApplyTimeout, Ready says ErrNoQuorum.
func TestNoLeaderNoQuorum(t *testing.T) {
	checkGoroutines(t)
	cfg := testConfig(t, t.TempDir(), LogStoreWAL)
	cfg.Bootstrap = false
	cfg.ApplyTimeout = 300 * time.Millisecond
	n := openNodeNoWait(t, cfg, newMemKV())
	start := time.Now()
	_, err := n.Apply(context.Background(), []byte("x"))
	if !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("Apply = %v, want ErrNoQuorum", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("Apply took %s", el)
	}
	if err := n.Ready(); !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("Ready = %v, want ErrNoQuorum", err)
	}
	if err := n.Join(context.Background(), "n2", "127.0.0.1:1"); !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("Join = %v, want ErrNoQuorum", err)
	}
}
