package auth

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHookThrottlesPasswordGuessing drives the hook with real MQTT 5 clients
// from two source addresses: wrong passwords from 127.0.0.2 are slowed past
// the free attempts, parallel ones are refused without a check (reason
// throttled, the same CONNACK 0x86), while the right password from 127.0.0.1
// connects at once; an unknown user is throttled exactly like a known one.
func TestHookThrottlesPasswordGuessing(t *testing.T) {
	cfg, _ := passwordConfig(t, map[string]string{"alice": "alice-pw"})
	cfg.Throttle.FreeAttempts = 3
	cfg.Throttle.BaseDelay = 500 * time.Millisecond
	cfg.Throttle.MaxDelay = 2 * time.Second
	tb := newTestBroker(t, cfg)

	for _, user := range []string{"alice", "nobody"} {
		t.Run(user, func(t *testing.T) {
			wrong := func(i int) conn5 {
				return conn5{clientID: fmt.Sprintf("%s-w%d", user, i), username: str(user), password: str("guess"), from: "127.0.0.2"}
			}
			start := time.Now()
			for i := range 5 { // 3 free, then 500ms and 1s after the last failure
				if code := connect5(t, tb, wrong(i)); code != 0x86 {
					t.Fatalf("wrong password %d: CONNACK 0x%02x", i, code)
				}
			}
			if took := time.Since(start); took < 1200*time.Millisecond {
				t.Fatalf("5 wrong passwords took %s, want at least 1.5s of throttling", took)
			}
			// The next one waits 2s; meanwhile a burst from the same address is
			// refused at once, without a password check.
			limitsBefore := tb.obs.limitCount()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				connect5(t, tb, wrong(100))
			}()
			waitFor(t, "a waiting attempt", func() bool { return tb.hook.throttle.waitingNow() == 1 })
			before := len(tb.obs.all())
			for i := range 10 {
				if code := connect5(t, tb, wrong(200+i)); code != 0x86 {
					t.Fatalf("burst %d: CONNACK 0x%02x", i, code)
				}
			}
			r := tb.obs.all()[before:]
			if len(r) != 10 || strings.Count(strings.Join(r, ","), ReasonThrottled) != 10 {
				t.Fatalf("burst reasons %v, want 10 x %s", r, ReasonThrottled)
			}
			if user == "alice" {
				start := time.Now()
				expect5(t, tb, conn5{clientID: "alice-b", username: str("alice"), password: str("alice-pw"), from: "127.0.0.1"}, 0, "", "alice")
				if took := time.Since(start); took > time.Second {
					t.Fatalf("right password from another address took %s", took)
				}
			}
			wg.Wait()
			if n := tb.obs.limitCount() - limitsBefore; n != 11 {
				t.Fatalf("LimitRefused called %d times for 1 delayed + 10 refused", n)
			}
		})
	}
	if logs := tb.logs.String(); strings.Contains(logs, "guess") || !strings.Contains(logs, msgThrottled) {
		t.Fatalf("log: password leaked or no throttle warning")
	}
}
