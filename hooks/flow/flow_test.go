package flow_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// fanIn floods one deliberately slow subscriber from several publishers: the
// subscriber does not read for a while (its kernel buffer is 4 KiB, the broker's
// queue towards it 32 packets), then reads everything. It returns how many of the
// sent messages arrived and fails on any reordering within a publisher.
func fanIn(t *testing.T, addr string, qos byte, pubs, each int) (sent, got int) {
	t.Helper()
	sub := dialRawSub(t, addr, "slow-sub", "fan/in", qos)
	var wg sync.WaitGroup
	for p := 0; p < pubs; p++ {
		cl := publisher(t, addr, fmt.Sprintf("pub-%d", p))
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for n := 0; n < each; n++ {
				err := publish(cl, &paho.Publish{Topic: "fan/in", QoS: qos, Payload: payload(p, n, 1024)})
				if err != nil {
					t.Errorf("publish %d/%d: %v", p, n, err)
					return
				}
			}
		}(p)
	}
	time.Sleep(500 * time.Millisecond) // the subscriber reads nothing meanwhile
	msgs := sub.drain(t, pubs*each, 3*time.Second)
	wg.Wait()
	next := make([]int, pubs)
	for _, m := range msgs {
		p, n, err := parsePayload(m)
		if err != nil || p < 0 || p >= pubs {
			t.Fatalf("bad payload %q: %v", m[:16], err)
		}
		if n < next[p] {
			t.Fatalf("publisher %d: message %d after %d (reordered or duplicated)", p, n, next[p]-1)
		}
		next[p] = n + 1
	}
	return pubs * each, len(msgs)
}

func TestFanInSlowSubscriberLosesNothing(t *testing.T) {
	for _, qos := range []byte{0, 1} {
		t.Run(fmt.Sprintf("qos%d", qos), func(t *testing.T) {
			addr, h := startBroker(t, 32, 64, 5*time.Second)
			sent, got := fanIn(t, addr, qos, 4, 3000)
			if got != sent {
				t.Fatalf("received %d of %d messages", got, sent)
			}
			if s := h.Stats(); s.Waits == 0 || s.SlowMarked != 0 {
				t.Fatalf("stats %+v: want waits and no slow mark", s)
			}
		})
	}
}

// Without the hook (MaxWait 0) the same flood loses messages: the scenario above
// really overflows the queue.
func TestFanInWithoutBackPressureDrops(t *testing.T) {
	for _, qos := range []byte{0, 1} {
		t.Run(fmt.Sprintf("qos%d", qos), func(t *testing.T) {
			addr, _ := startBroker(t, 32, 64, 0)
			sent, got := fanIn(t, addr, qos, 4, 3000)
			if got >= sent {
				t.Fatalf("received %d of %d: the scenario did not overflow the queue", got, sent)
			}
			t.Logf("without back-pressure: received %d of %d", got, sent)
		})
	}
}

// A subscriber that never reads holds its publishers for at most MaxWait, is
// marked slow, and the others keep receiving everything.
func TestStalledSubscriberIsMarkedSlow(t *testing.T) {
	addr, h := startBroker(t, 32, 64, 200*time.Millisecond)
	stalled := dialRawSub(t, addr, "stalled", "fan/in", 1)
	_ = stalled
	healthy := dialRawSub(t, addr, "healthy", "fan/in", 1)
	pub := publisher(t, addr, "pub")
	const n = 2000
	type result struct {
		msgs [][]byte
		err  error
	}
	got := make(chan result, 1)
	go func() {
		m, err := healthy.collect(n, 5*time.Second)
		got <- result{m, err}
	}()
	for i := 0; i < n; i++ {
		if err := publish(pub, &paho.Publish{Topic: "fan/in", QoS: 1, Payload: payload(0, i, 1024)}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	msgs := r.msgs
	if len(msgs) != n {
		t.Fatalf("healthy subscriber received %d of %d", len(msgs), n)
	}
	for i, m := range msgs {
		if _, k, err := parsePayload(m); err != nil || k != i {
			t.Fatalf("message %d is %q", i, m[:16])
		}
	}
	// The stalled subscriber is slow at the end, and only it. The healthy
	// one may have been marked slow for a moment too on a loaded machine
	// (MaxWait is 200 ms here); it lost nothing (QoS 1, checked above).
	s := h.Stats()
	if s.SlowMarked < 1 || s.SlowCurrent != 1 {
		t.Fatalf("stats %+v: want the stalled subscriber marked slow, and only it slow now", s)
	}
}

// publish bounds one publish: no wait of the hook is longer than its MaxWait (5 s
// at most here), so 30 s means something hangs.
func publish(cl *paho.Client, p *paho.Publish) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := cl.Publish(ctx, p)
	return err
}
