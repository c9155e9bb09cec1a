package ratelimit

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestBucket(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(Config{MessagesPerSecond: 10, Burst: 5, MaxKeys: 100}, c.now)
	for i := range 5 {
		if !l.Allow("alice") {
			t.Fatalf("burst request %d refused", i)
		}
	}
	if l.Allow("alice") {
		t.Fatal("6th request at once allowed")
	}
	if !l.Allow("bob") {
		t.Fatal("another user is limited by alice")
	}
	c.add(100 * time.Millisecond) // one token back
	if !l.Allow("alice") || l.Allow("alice") {
		t.Fatal("refill of one token not honoured exactly")
	}
	c.add(time.Hour) // refills to burst, not beyond
	n := 0
	for l.Allow("alice") {
		n++
	}
	if n != 5 {
		t.Fatalf("after a long pause %d requests, want burst 5", n)
	}
}

func TestOffAndValidate(t *testing.T) {
	l := New(Config{MessagesPerSecond: 0, MaxKeys: 1}, nil)
	for range 1000 {
		if !l.Allow("x") {
			t.Fatal("disabled limiter refused")
		}
	}
	bad := []Config{{MessagesPerSecond: -1, MaxKeys: 1}, {MessagesPerSecond: 1, Burst: 0, MaxKeys: 1}, {MessagesPerSecond: 1, Burst: 1, MaxKeys: 0}}
	for _, c := range bad {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryBounded(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(Config{MessagesPerSecond: 1, Burst: 2, MaxKeys: 640}, c.now)
	for i := range 100_000 {
		l.Allow(fmt.Sprint("user", i))
	}
	if n := l.Len(); n > 640+shards {
		t.Fatalf("%d buckets kept, bound 640", n)
	}
}

func TestConcurrent(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(Config{MessagesPerSecond: 1, Burst: 100, MaxKeys: 1000}, c.now)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if l.Allow("shared") {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != 100 {
		t.Fatalf("%d allowed from one bucket of 100", allowed.Load())
	}
}

func BenchmarkAllow(b *testing.B) {
	l := New(DefaultConfig(), nil)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprint("user", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.Allow(keys[i%len(keys)])
			i++
		}
	})
}
