package auth

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/imqtt/imqtt/hooks/ext"
)

// throttle slows password guessing. It keeps, for a bounded time and a bounded
// number of keys, the failed password checks of each (user, address) pair and
// of each address, and decides before a password is checked whether the check
// may run now, must wait, or is refused without running. See the package
// documentation ("Login throttling") for the policy and its reasons.
//
// Rules, for one password attempt by user from addr:
//
//   - (user, addr) key: its first FreeAttempts checks run at once. Checks in
//     flight count against that budget, so parallel attempts cannot all slip
//     through before the first failure is recorded: an attempt that finds the
//     budget spent only by checks in flight waits for one of them to finish
//     and decides again (a user's devices logging in together queue for a few
//     bcrypt times; a success clears the key), refused if that takes more than
//     MaxDelay in all. Past the budget (FreeAttempts
//     failures) one attempt at a time may go on: it waits until delay(n)
//     after the key's last failure (n = failures - FreeAttempts; delay doubles
//     from BaseDelay up to MaxDelay); an attempt that arrives while another one
//     of the same key is running or waiting is refused at once.
//   - addr key: its first AddressFreeAttempts failures cost nothing; past them
//     every attempt from the address waits until the same delay after the
//     address's last failure, but is never refused for concurrency (many users
//     may share one address behind NAT).
//   - Waiting holds only that connection's goroutine (not a place in the
//     engine's authentication pool: ext.AuthIdle); at most MaxWaiting
//     attempts wait at once (delayed or queued), beyond which an attempt that
//     would wait is refused.
//   - A success clears its (user, addr) key; the address key keeps counting (a
//     valid account must not launder an address's failures). Keys are forgotten
//     Window after their last failure; when the table holds MaxKeys keys a new
//     key is not tracked (fail open, logged): refusing would let anyone who
//     fills the table lock everybody out.
//
// The throttle looks only at the username as sent, never at whether the user
// exists, so unknown users are throttled exactly like known ones.
type throttle struct {
	cfg  ThrottleConfig
	now  func() time.Time
	done chan struct{} // closed by stop: waiters give up

	mu      sync.Mutex
	users   map[userAddr]*failures
	addrs   map[netip.Addr]*failures
	waiting int       // attempts sleeping in wait
	swept   time.Time // last full sweep
	stopped bool
}

type userAddr struct {
	user string
	addr netip.Addr
}

// failures is the state of one key.
type failures struct {
	n        int           // failed checks within Window of last
	last     time.Time     // time of the last failure
	inflight int           // attempts admitted and not finished (running or waiting)
	changed  chan struct{} // closed when an attempt in flight finishes; nil if nobody waits
}

// verdict is what admit decided.
type verdict int

const (
	admitNow     verdict = iota // check at once (free attempt, or the delay is over)
	admitQueued                 // waited only for checks of the same key in flight (not a throttle)
	admitDelayed                // the attempt waited out its delay, then may be checked
	admitRefused                // refused without checking the password
)

// attempt is an admitted password check; finish must be called exactly once.
type attempt struct {
	t    *throttle
	ua   userAddr
	user *failures // nil when the key is not tracked (table full)
	addr *failures
}

// outcome of a finished check, as the throttle counts it.
type outcome int

const (
	outcomeFailure outcome = iota // wrong password or unknown user
	outcomeSuccess                // right password
	outcomeNone                   // no password was checked (the wait was cut short)
)

func newThrottle(cfg ThrottleConfig, now func() time.Time) *throttle {
	return &throttle{
		cfg:   cfg,
		now:   now,
		done:  make(chan struct{}),
		users: make(map[userAddr]*failures),
		addrs: make(map[netip.Addr]*failures),
	}
}

// stop releases every waiter (they are refused) and makes later waits refuse
// at once. Idempotent.
func (t *throttle) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped {
		t.stopped = true
		close(t.done)
	}
}

// delay is the wait past the free budget: BaseDelay doubled over budget times,
// capped at MaxDelay.
func (t *throttle) delay(over int) time.Duration {
	d := t.cfg.BaseDelay
	for i := 0; i < over && d < t.cfg.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.cfg.MaxDelay)
}

// admit decides whether user's password attempt from addr may be checked. It
// may sleep (at most MaxDelay past the key's last failure, holding only the
// caller). On admitNow, admitQueued and admitDelayed the caller checks the
// password and calls a.finish; on admitRefused a is nil. wait is how long the attempt slept;
// tableFull reports a new key that was not tracked because the table is full.
func (t *throttle) admit(ctx context.Context, user string, addr netip.Addr) (a *attempt, v verdict, wait time.Duration, tableFull bool) {
	ua := userAddr{user: user, addr: addr}
	var queued time.Duration // time spent waiting for checks in flight
	t.mu.Lock()
	for {
		now := t.now()
		u, uFull := keyLocked(t, t.users, ua, now)
		ad, aFull := keyLocked(t, t.addrs, addr, now)
		tableFull = tableFull || uFull || aFull
		var until time.Time
		if u != nil && u.n+u.inflight >= t.cfg.FreeAttempts {
			switch {
			case u.n < t.cfg.FreeAttempts:
				// The budget is spent only by checks in flight (a user's
				// devices logging in at once, or a burst of guesses): wait
				// for one of them to finish, then decide again.
				start := time.Now()
				ok := queued < t.cfg.MaxDelay && t.sleepLocked(ctx, u.changedLocked(), t.cfg.MaxDelay-queued)
				queued += time.Since(start)
				if !ok {
					t.mu.Unlock()
					return nil, admitRefused, queued, tableFull
				}
				continue
			case u.inflight > 0:
				// Past the budget one attempt at a time.
				t.dropIfIdleLocked(ua, u, addr, ad)
				t.mu.Unlock()
				return nil, admitRefused, queued, tableFull
			}
			until = u.last.Add(t.delay(u.n - t.cfg.FreeAttempts))
		}
		if ad != nil && ad.n >= t.cfg.AddressFreeAttempts {
			until = maxTime(until, ad.last.Add(t.delay(ad.n-t.cfg.AddressFreeAttempts)))
		}
		if u != nil {
			u.inflight++
		}
		if ad != nil {
			ad.inflight++
		}
		a = &attempt{t: t, ua: ua, user: u, addr: ad}
		d := until.Sub(now)
		if d <= 0 {
			t.mu.Unlock()
			if queued > 0 {
				return a, admitQueued, queued, tableFull
			}
			return a, admitNow, 0, tableFull
		}
		ok := t.sleepLocked(ctx, nil, d)
		t.mu.Unlock()
		if !ok {
			a.finish(outcomeNone)
			return nil, admitRefused, queued, tableFull
		}
		return a, admitDelayed, queued + d, tableFull
	}
}

// sleepLocked waits, with t.mu released, until d has passed or changed (if not
// nil) is closed. It returns false at once, without waiting, when MaxWaiting
// attempts already wait or the throttle is stopped, and false when stop or
// the end of ctx (the engine's Close) ends the wait. Meanwhile the caller
// holds none of the engine's authentication places (ext.AuthIdle): waiting
// attempts are bounded by MaxWaiting, not by the engine's pool. t.mu is held
// again when it returns.
func (t *throttle) sleepLocked(ctx context.Context, changed <-chan struct{}, d time.Duration) bool {
	if t.waiting >= t.cfg.MaxWaiting || t.stopped {
		return false
	}
	t.waiting++
	t.mu.Unlock()
	resume := ext.AuthIdle(ctx)
	timer := time.NewTimer(d)
	ok := true
	select {
	case <-timer.C:
	case <-changed:
	case <-t.done:
		ok = false
	case <-ctx.Done():
		ok = false
	}
	timer.Stop()
	resume() // not under t.mu: it may wait for a place
	t.mu.Lock()
	t.waiting--
	return ok
}

// changedLocked returns the channel closed when a check of the key finishes.
func (f *failures) changedLocked() <-chan struct{} {
	if f.changed == nil {
		f.changed = make(chan struct{})
	}
	return f.changed
}

// finish records the outcome of an admitted attempt.
func (a *attempt) finish(o outcome) {
	t := a.t
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range []*failures{a.user, a.addr} {
		if f == nil {
			continue
		}
		f.inflight--
		if f.changed != nil {
			close(f.changed) // wake the attempts queued behind this one
			f.changed = nil
		}
		if o == outcomeFailure {
			f.n++
			f.last = now
		}
	}
	if o == outcomeSuccess && a.user != nil {
		a.user.n = 0 // a right password clears its (user, address) key
	}
	t.dropIfIdleLocked(a.ua, a.user, a.ua.addr, a.addr)
}

// dropIfIdleLocked forgets keys with no failure and no attempt in flight.
func (t *throttle) dropIfIdleLocked(ua userAddr, u *failures, addr netip.Addr, ad *failures) {
	if u != nil && u.n == 0 && u.inflight == 0 && t.users[ua] == u {
		delete(t.users, ua)
	}
	if ad != nil && ad.n == 0 && ad.inflight == 0 && t.addrs[addr] == ad {
		delete(t.addrs, addr)
	}
}

// keyLocked returns the state of k in m, creating it; failures older than
// Window are forgotten. It returns nil (and full) when the table holds MaxKeys
// keys even after a sweep.
func keyLocked[K comparable](t *throttle, m map[K]*failures, k K, now time.Time) (*failures, bool) {
	f := m[k]
	if f != nil {
		if f.n > 0 && now.Sub(f.last) > t.cfg.Window {
			f.n = 0
		}
		return f, false
	}
	if t.lenLocked() >= t.cfg.MaxKeys && now.Sub(t.swept) >= time.Second {
		t.sweepLocked(now)
	}
	if t.lenLocked() >= t.cfg.MaxKeys {
		return nil, true
	}
	f = &failures{}
	m[k] = f
	return f, false
}

func (t *throttle) lenLocked() int { return len(t.users) + len(t.addrs) }

// sweepLocked drops keys whose failures have expired and that have nothing in
// flight.
func (t *throttle) sweepLocked(now time.Time) {
	t.swept = now
	for k, f := range t.users {
		if f.inflight == 0 && (f.n == 0 || now.Sub(f.last) > t.cfg.Window) {
			delete(t.users, k)
		}
	}
	for k, f := range t.addrs {
		if f.inflight == 0 && (f.n == 0 || now.Sub(f.last) > t.cfg.Window) {
			delete(t.addrs, k)
		}
	}
}

// keys returns the number of tracked keys (tests).
func (t *throttle) keys() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lenLocked()
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// waitingNow returns the number of attempts sleeping (tests).
func (t *throttle) waitingNow() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waiting
}
