package ratelimit

import (
	"hash/maphash"
	"sync"
	"time"
)

const shards = 64

type bucket struct {
	tokens float64
	last   time.Time
}

type shard struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

// Limiter holds the buckets (see the package doc).
type Limiter struct {
	rate   float64
	burst  float64
	perMax int
	now    func() time.Time
	seed   maphash.Seed
	shards [shards]shard
}

// New returns a Limiter for a validated cfg; now is the clock (nil: time.Now).
func New(cfg Config, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{
		rate:   cfg.MessagesPerSecond,
		burst:  float64(cfg.Burst),
		perMax: max(1, cfg.MaxKeys/shards),
		now:    now,
		seed:   maphash.MakeSeed(),
	}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]*bucket)
	}
	return l
}

// Allow takes one token from key's bucket and reports whether there was one.
func (l *Limiter) Allow(key string) bool {
	if l.rate <= 0 {
		return true
	}
	s := &l.shards[maphash.String(l.seed, key)%shards]
	now := l.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[key]
	if !ok {
		if len(s.buckets) >= l.perMax {
			l.evict(s, now)
		}
		b = &bucket{tokens: l.burst, last: now}
		s.buckets[key] = b
	} else if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// evict drops full buckets (they equal a fresh one), else the stalest one.
func (l *Limiter) evict(s *shard, now time.Time) {
	var oldest string
	var oldestAt time.Time
	freed := false
	for k, b := range s.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(s.buckets, k)
			freed = true
			continue
		}
		if oldest == "" || b.last.Before(oldestAt) {
			oldest, oldestAt = k, b.last
		}
	}
	if !freed && oldest != "" {
		delete(s.buckets, oldest)
	}
}

// Len returns the number of buckets kept (for tests and metrics).
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}
