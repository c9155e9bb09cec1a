package listen

import (
	"sync"
	"time"
)

// warnInterval is the shortest time between two rate-limited warnings of one kind.
const warnInterval = 10 * time.Second

// sometimes lets one event through per interval and counts the ones it held back,
// so a flood of accept errors or rejections becomes one warning per interval that
// says how many it stands for. Safe for concurrent use.
type sometimes struct {
	every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether the caller should log now and, if so, how many events
// were held back since the last one that was let through.
func (s *sometimes) allow(now time.Time) (ok bool, suppressed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.last.IsZero() && now.Sub(s.last) < s.every {
		s.suppressed++
		return false, 0
	}
	s.last = now
	suppressed, s.suppressed = s.suppressed, 0
	return true, suppressed
}
