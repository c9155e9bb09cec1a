package auth

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imqtt/imqtt/hooks/ext"
)

func testThrottleConfig() ThrottleConfig {
	c := DefaultThrottleConfig()
	c.FreeAttempts = 3
	c.AddressFreeAttempts = 1000
	c.BaseDelay = 40 * time.Millisecond
	c.MaxDelay = 100 * time.Millisecond
	c.Window = time.Minute
	return c
}

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
)

// fail runs one admitted attempt that fails and returns its verdict and wait.
func fail(t *testing.T, th *throttle, user string, addr netip.Addr) (verdict, time.Duration) {
	t.Helper()
	a, v, wait, _ := th.admit(context.Background(), user, addr)
	if a != nil {
		a.finish(outcomeFailure)
	}
	return v, wait
}

func TestThrottleFreeAttemptsThenDoublingDelay(t *testing.T) {
	th := newThrottle(testThrottleConfig(), time.Now)
	for i := range 3 {
		if v, _ := fail(t, th, "alice", addrA); v != admitNow {
			t.Fatalf("attempt %d: verdict %d, want admitNow", i+1, v)
		}
	}
	// Past the budget: 40ms, 80ms, then capped at 100ms after the last failure.
	for i, want := range []time.Duration{40, 80, 100, 100} {
		want *= time.Millisecond
		start := time.Now()
		v, _ := fail(t, th, "alice", addrA)
		if took := time.Since(start); v != admitDelayed || took < want*3/4 {
			t.Fatalf("attempt %d: verdict %d after %s, want admitDelayed after about %s", i+4, v, took, want)
		}
	}
	// Another address, same user: at once. Another user, same address: at once.
	if v, _ := fail(t, th, "alice", addrB); v != admitNow {
		t.Fatalf("alice from B: verdict %d", v)
	}
	if v, _ := fail(t, th, "bob", addrA); v != admitNow {
		t.Fatalf("bob from A: verdict %d", v)
	}
}

// TestThrottleParallelBurst: checks in flight count against the budget, so a
// burst of parallel attempts gets exactly the free ones through while they
// run; the others queue behind them, up to MaxDelay, then are refused.
func TestThrottleParallelBurst(t *testing.T) {
	th := newThrottle(testThrottleConfig(), time.Now)
	var mu sync.Mutex
	var admitted []*attempt
	refused := 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, v, _, _ := th.admit(context.Background(), "alice", addrA)
			mu.Lock()
			defer mu.Unlock()
			if v == admitRefused {
				refused++
				return
			}
			admitted = append(admitted, a)
		}()
	}
	wg.Wait()
	if len(admitted) != 3 || refused != 17 {
		t.Fatalf("admitted %d, refused %d; want 3 and 17", len(admitted), refused)
	}
	for _, a := range admitted {
		a.finish(outcomeFailure)
	}
}

// TestThrottleOneWaiterPerKey: while one attempt of a throttled key waits,
// another of the same key is refused at once; other keys are untouched.
func TestThrottleOneWaiterPerKey(t *testing.T) {
	cfg := testThrottleConfig()
	cfg.BaseDelay, cfg.MaxDelay = 2*time.Second, 2*time.Second
	th := newThrottle(cfg, time.Now)
	for range 3 {
		fail(t, th, "alice", addrA)
	}
	done := make(chan verdict, 1)
	go func() {
		v, _ := fail(t, th, "alice", addrA)
		done <- v
	}()
	waitFor(t, "one waiter", func() bool { return th.waitingNow() == 1 })
	start := time.Now()
	if a, v, _, _ := th.admit(context.Background(), "alice", addrA); v != admitRefused || a != nil {
		t.Fatalf("second attempt while one waits: verdict %d", v)
	}
	if a, v, _, _ := th.admit(context.Background(), "alice", addrB); v != admitNow {
		t.Fatalf("alice from B: verdict %d", v)
	} else {
		a.finish(outcomeSuccess)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("refusal and other address took %s", took)
	}
	th.stop() // releases the waiter, refused
	if v := <-done; v != admitRefused {
		t.Fatalf("waiter after stop: verdict %d", v)
	}
	if a, v, _, _ := th.admit(context.Background(), "alice", addrA); v != admitRefused || a != nil {
		t.Fatalf("after stop: verdict %d", v)
	}
}

func TestThrottleSuccessResetsUserKeyOnly(t *testing.T) {
	cfg := testThrottleConfig()
	cfg.AddressFreeAttempts = 5
	cfg.BaseDelay, cfg.MaxDelay = time.Hour, time.Hour
	cfg.Window = 2 * time.Hour
	now := time.Unix(1e9, 0)
	th := newThrottle(cfg, func() time.Time { return now })
	for range 2 {
		fail(t, th, "alice", addrA)
	}
	a, v, _, _ := th.admit(context.Background(), "alice", addrA)
	if v != admitNow {
		t.Fatalf("third attempt: %d", v)
	}
	a.finish(outcomeSuccess)
	for i := range 3 { // the (alice, A) budget is whole again
		if v, _ := fail(t, th, "alice", addrA); v != admitNow {
			t.Fatalf("after success, attempt %d: verdict %d", i+1, v)
		}
	}
	// The address has 5 failures now: its budget is spent, so even a fresh
	// user from it would wait (an hour): with MaxWaiting 0 that is a refusal.
	th.cfg.MaxWaiting = 0
	if _, v, _, _ := th.admit(context.Background(), "carol", addrA); v != admitRefused {
		t.Fatalf("fresh user from a spent address: verdict %d", v)
	}
	if a, v, _, _ := th.admit(context.Background(), "carol", addrB); v != admitNow {
		t.Fatalf("fresh user from another address: verdict %d", v)
	} else {
		a.finish(outcomeSuccess)
	}
	// Window after the last failure everything is forgotten.
	now = now.Add(cfg.Window + time.Second)
	if a, v, _, _ := th.admit(context.Background(), "alice", addrA); v != admitNow {
		t.Fatalf("after the window: verdict %d", v)
	} else {
		a.finish(outcomeSuccess)
	}
}

// TestThrottleAddressKeyNeverRefusesForConcurrency: past the address budget,
// attempts of different users from one address all wait, none is refused.
func TestThrottleAddressKeyNeverRefusesForConcurrency(t *testing.T) {
	cfg := testThrottleConfig()
	cfg.AddressFreeAttempts = 2
	th := newThrottle(cfg, time.Now)
	fail(t, th, "u1", addrA)
	fail(t, th, "u2", addrA)
	var wg sync.WaitGroup
	verdicts := make(chan verdict, 5)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, v, _, _ := th.admit(context.Background(), "user"+string(rune('a'+i)), addrA)
			if a != nil {
				a.finish(outcomeSuccess)
			}
			verdicts <- v
		}()
	}
	wg.Wait()
	close(verdicts)
	for v := range verdicts {
		if v != admitDelayed {
			t.Fatalf("verdict %d, want admitDelayed", v)
		}
	}
}

func TestThrottleBoundedKeysAndWaiters(t *testing.T) {
	cfg := testThrottleConfig()
	cfg.MaxKeys = 4
	cfg.Window = time.Hour
	th := newThrottle(cfg, time.Now)
	fail(t, th, "a", addrA) // two keys: (a, A) and A
	fail(t, th, "b", addrB) // (b, B) and B
	if th.keys() != 4 {
		t.Fatalf("keys %d", th.keys())
	}
	a, v, _, full := th.admit(context.Background(), "c", addrA)
	if !full || v != admitNow {
		t.Fatalf("new key in a full table: full %v verdict %d", full, v)
	}
	a.finish(outcomeFailure)
	if th.keys() != 4 {
		t.Fatalf("keys %d after a full table, want 4", th.keys())
	}
	// Successes leave no key behind.
	th2 := newThrottle(testThrottleConfig(), time.Now)
	for i := range 100 {
		a, _, _, _ := th2.admit(context.Background(), "u"+string(rune(i)), addrA)
		a.finish(outcomeSuccess)
	}
	if th2.keys() != 0 {
		t.Fatalf("successes left %d keys", th2.keys())
	}
	// MaxWaiting 0: a throttled attempt is refused instead of waiting.
	cfg = testThrottleConfig()
	cfg.MaxWaiting = 0
	th3 := newThrottle(cfg, time.Now)
	for range 3 {
		fail(t, th3, "alice", addrA)
	}
	if _, v, _, _ := th3.admit(context.Background(), "alice", addrA); v != admitRefused {
		t.Fatalf("no waiting room: verdict %d", v)
	}
}

func TestThrottleConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Throttle.MaxDelay = c.Throttle.BaseDelay / 2
	c.Throttle.MaxKeys = 0
	err := c.Validate()
	for _, f := range []string{"auth.throttle.max_delay", "auth.throttle.max_keys"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("error %v does not name %s", err, f)
		}
	}
	c.Throttle = ThrottleConfig{} // off: nothing else is checked
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRemoteAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.2:1883":      "127.0.0.2",
		"[::ffff:10.0.0.1]:1": "10.0.0.1",
		"[2001:db8::1]:443":   "2001:db8::1",
		"10.1.2.3":            "10.1.2.3",
		"pipe":                "invalid IP",
		"":                    "invalid IP",
	} {
		if got := remoteAddr(in).String(); got != want {
			t.Errorf("remoteAddr(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestThrottleQueuesConcurrentLogins: many devices of one user behind one
// address logging in at once all get through: past the free attempts in flight
// they queue for a check to finish instead of being refused.
func TestThrottleQueuesConcurrentLogins(t *testing.T) {
	cfg := testThrottleConfig()
	cfg.MaxDelay = 5 * time.Second
	th := newThrottle(cfg, time.Now)
	var wg sync.WaitGroup
	refused := make(chan int, 30)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, v, _, _ := th.admit(context.Background(), "alice", addrA)
			if v != admitNow && v != admitQueued {
				refused <- i
				return
			}
			time.Sleep(2 * time.Millisecond) // the bcrypt check
			a.finish(outcomeSuccess)
		}()
	}
	wg.Wait()
	close(refused)
	for i := range refused {
		t.Errorf("login %d refused or delayed", i)
	}
	if th.keys() != 0 || th.waitingNow() != 0 {
		t.Fatalf("left %d keys, %d waiting", th.keys(), th.waitingNow())
	}
}

// idleCounter is an ext.AuthWaiter that counts Idle and resume calls.
type idleCounter struct {
	mu           sync.Mutex
	idle, resume int
}

func (w *idleCounter) Idle() func() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.idle++
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.resume++
	}
}

func (w *idleCounter) counts() (int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.idle, w.resume
}

// TestThrottleWaitIsIdle: a throttled wait gives the engine's pool slot up
// (ext.AuthIdle) and takes it back before the check; an attempt admitted at
// once does not; the end of ctx (the engine's Close) ends a wait with a
// refusal long before its delay.
func TestThrottleWaitIsIdle(t *testing.T) {
	cfg := testThrottleConfig()
	cfg.FreeAttempts, cfg.BaseDelay, cfg.MaxDelay = 1, 50*time.Millisecond, 50*time.Millisecond
	th := newThrottle(cfg, time.Now)
	w := &idleCounter{}
	ctx := ext.WithAuthWaiter(context.Background(), w)
	a, v, _, _ := th.admit(ctx, "alice", addrA)
	if v != admitNow {
		t.Fatalf("first attempt: verdict %d", v)
	}
	a.finish(outcomeFailure)
	if i, r := w.counts(); i != 0 || r != 0 {
		t.Fatalf("free attempt: idle %d resume %d, want none", i, r)
	}
	a, v, _, _ = th.admit(ctx, "alice", addrA)
	if v != admitDelayed {
		t.Fatalf("second attempt: verdict %d, want admitDelayed", v)
	}
	a.finish(outcomeFailure)
	if i, r := w.counts(); i != 1 || r != 1 {
		t.Fatalf("delayed attempt: idle %d resume %d, want 1 1", i, r)
	}

	cfg.BaseDelay, cfg.MaxDelay = time.Minute, time.Minute
	th2 := newThrottle(cfg, time.Now)
	fail(t, th2, "bob", addrA)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan verdict, 1)
	go func() {
		_, v, _, _ := th2.admit(cctx, "bob", addrA)
		done <- v
	}()
	deadline := time.Now().Add(5 * time.Second)
	for th2.waitingNow() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("bob's attempt never waited")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case v := <-done:
		if v != admitRefused {
			t.Fatalf("cancelled wait: verdict %d, want admitRefused", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the end of ctx did not end the wait")
	}
	if i, r := w.counts(); i != 2 || r != 2 {
		t.Fatalf("after the cancelled wait: idle %d resume %d, want 2 2", i, r)
	}
}
