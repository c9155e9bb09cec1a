package listen

import (
	"net/netip"
	"testing"
	"time"
)

// fakeClock is a settable time source for the Guard's token buckets.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClockGuard(t *testing.T, lim Limits) (*Guard, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	g := newGuard(lim, nil, testLogger(t), clk.now)
	t.Cleanup(g.Close)
	return g, clk
}

func TestGuardTokenBucket(t *testing.T) {
	lim := testLimits()
	lim.PerIPRate = 2 // per second
	lim.PerIPBurst = 3
	g, clk := newClockGuard(t, lim)
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")

	steps := []struct {
		ip      netip.Addr
		advance time.Duration
		want    string
	}{
		{a, 0, ""}, {a, 0, ""}, {a, 0, ""}, // the burst
		{a, 0, ReasonPerIPRate},
		{b, 0, ""}, // another address has its own bucket
		{a, 400 * time.Millisecond, ReasonPerIPRate}, // 0.8 token
		{a, 100 * time.Millisecond, ""},              // 1 token
		{a, 0, ReasonPerIPRate},
		{a, time.Hour, ""}, // refilled, capped at the burst
		{a, 0, ""}, {a, 0, ""},
		{a, 0, ReasonPerIPRate},
	}
	for i, s := range steps {
		clk.advance(s.advance)
		st, reason := g.acquire(s.ip, clk.now())
		if reason != s.want {
			t.Fatalf("step %d (%s): reason %q, want %q", i, s.ip, reason, s.want)
		}
		if reason == "" {
			g.release(s.ip, st)
		}
	}
}

func TestGuardCountsAndRelease(t *testing.T) {
	lim := testLimits()
	lim.MaxConnections = 4
	lim.PerIPConnections = 2
	g, clk := newClockGuard(t, lim)
	a := netip.MustParseAddr("2001:db8::1")
	b := netip.MustParseAddr("198.51.100.7")
	c := netip.MustParseAddr("198.51.100.8")

	sa1, r := g.acquire(a, clk.now())
	sa2, r2 := g.acquire(a, clk.now())
	if r != "" || r2 != "" {
		t.Fatal(r, r2)
	}
	if _, r := g.acquire(a, clk.now()); r != ReasonPerIPConnections {
		t.Fatalf("third from a: %q", r)
	}
	sb1, _ := g.acquire(b, clk.now())
	sb2, _ := g.acquire(b, clk.now())
	if _, r := g.acquire(c, clk.now()); r != ReasonMaxConnections {
		t.Fatalf("fifth overall: %q", r)
	}
	if g.Open() != 4 {
		t.Fatalf("open %d", g.Open())
	}
	g.release(a, sa1)
	if _, r := g.acquire(c, clk.now()); r != "" {
		t.Fatalf("after a release: %q", r)
	}
	g.release(a, sa2)
	// With the rate off, an address without open sockets is forgotten at once.
	if g.tracked() != 2 {
		t.Fatalf("tracked %d addresses, want 2 (b, c)", g.tracked())
	}
	g.release(b, sb1)
	g.release(b, sb2)
	if g.Open() != 1 || g.tracked() != 1 {
		t.Fatalf("open %d tracked %d", g.Open(), g.tracked())
	}
}

func TestGuardEvictsIdleBuckets(t *testing.T) {
	lim := testLimits()
	lim.PerIPRate = 10
	lim.PerIPBurst = 20 // refills from empty in 2 s
	g, clk := newClockGuard(t, lim)

	// 1000 addresses connect once and leave; one stays connected.
	for i := range 1000 {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		st, r := g.acquire(ip, clk.now())
		if r != "" {
			t.Fatal(r)
		}
		g.release(ip, st)
	}
	stay := netip.MustParseAddr("10.9.9.9")
	if _, r := g.acquire(stay, clk.now()); r != "" {
		t.Fatal(r)
	}
	if g.tracked() != 1001 {
		t.Fatalf("tracked %d", g.tracked())
	}
	// Buckets not yet full are kept (their debt must not be forgotten).
	clk.advance(50 * time.Millisecond)
	g.mu.Lock()
	g.sweepLocked(clk.now())
	g.mu.Unlock()
	if g.tracked() != 1001 {
		t.Fatalf("after a short while tracked %d, want 1001", g.tracked())
	}
	clk.advance(time.Second)
	g.mu.Lock()
	g.sweepLocked(clk.now())
	g.mu.Unlock()
	if g.tracked() != 1 {
		t.Fatalf("after refill tracked %d, want only the open one", g.tracked())
	}
}

func TestGuardTableCap(t *testing.T) {
	lim := testLimits()
	lim.PerIPRate = 0.001 // buckets take hours to refill: nothing is evictable
	lim.PerIPBurst = 1
	lim.MaxConnections = maxMaxConnections
	g, clk := newClockGuard(t, lim)
	for i := range maxTrackedIPs {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		st, r := g.acquire(ip, clk.now())
		if r != "" {
			t.Fatal(r)
		}
		g.release(ip, st)
	}
	// The table is full: a new address is admitted without per-IP accounting.
	extra := netip.MustParseAddr("172.16.0.1")
	for range 3 {
		st, r := g.acquire(extra, clk.now())
		if r != "" || st != nil {
			t.Fatalf("untracked admit: %q %v", r, st)
		}
		g.release(extra, st)
	}
	if g.tracked() != maxTrackedIPs {
		t.Fatalf("table grew to %d", g.tracked())
	}
}

func TestGuardCloseIdempotent(t *testing.T) {
	g := NewGuard(DefaultLimits(), nil, testLogger(t))
	g.Close()
	g.Close()
}

func BenchmarkGuardAcquireRelease(b *testing.B) {
	g := NewGuard(DefaultLimits(), nil, testLoggerB(b))
	defer g.Close()
	ip := netip.MustParseAddr("192.0.2.1")
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Second) // keep the bucket full
		st, r := g.acquire(ip, now)
		if r != "" {
			b.Fatal(r)
		}
		g.release(ip, st)
	}
}
