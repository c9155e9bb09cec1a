package storage

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// limitCounter records LimitRefused calls.
type limitCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *limitCounter) LimitRefused(limit string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[limit]++
}

func (c *limitCounter) get(limit string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[limit]
}

// TestFanoutSplitsCommands: a publish for 300 offline sessions with a
// command limit of 8 KiB is stored as one body and references spread over
// several commands, acknowledged only after all of them; every session
// finds the message in its queue and gets it on reconnect.
func TestFanoutSplitsCommands(t *testing.T) {
	b := startBroker(t, t.TempDir(), DefaultConfig(), func(o *EngineOptions) { o.MaxCommandBytes = 8 << 10 })
	const n = 300
	offlineSessions(t, b, n, "fan/x")
	payload := strings.Repeat("p", 2000)
	before := b.app.count.Load()
	if pr, err := publish(connectPub(t, b), "fan/x", payload, 1, false); err != nil || pr.ReasonCode != 0 {
		t.Fatalf("publish: %v %v", pr, err)
	}
	if cmds := b.app.count.Load() - before; cmds < 3 {
		t.Fatalf("%d commands for %d references under 8 KiB, want several", cmds, n)
	}
	for i := range n {
		q, err := b.store.Queue(fmt.Sprintf("s%03d", i), 0, 0, time.Now())
		if err != nil || len(q) != 1 || string(q[0].Message.Payload) != payload || q[0].Message.QoS != 1 {
			t.Fatalf("queue of s%03d: %+v %v", i, q, err)
		}
	}
	for _, i := range []int{0, 150, 299} {
		id := fmt.Sprintf("s%03d", i)
		_, r := connect(t, b.addr, id, false, 3600)
		waitFor(t, "delivery to "+id, func() bool { return len(r.snapshot()) == 1 })
		if m := r.snapshot()[0]; string(m.Payload) != payload || m.Topic != "fan/x" {
			t.Fatalf("%s got %s %d bytes", id, m.Topic, len(m.Payload))
		}
		// The acknowledgement releases the reference.
		waitFor(t, "dequeue of "+id, func() bool { c, _, _ := b.store.QueueLen(id); return c == 0 })
	}
}

// TestFanoutFewTargetsCopies: below the thresholds each target still gets
// its own copy in one command (the common path is unchanged).
func TestFanoutFewTargetsCopies(t *testing.T) {
	if useSharedBody(1, 1<<20) || useSharedBody(3, 100) || useSharedBody(16, 64) || !useSharedBody(2, fanoutMinBytes/2) || !useSharedBody(128, 1) {
		t.Fatal("thresholds")
	}
	b := startBroker(t, t.TempDir(), DefaultConfig())
	for _, id := range []string{"a", "b"} {
		c, _ := connect(t, b.addr, id, true, 3600)
		subscribe(t, c, "few", 2)
		b.disconnect(t, c, id)
	}
	before := b.app.count.Load()
	if pr, err := publish(connectPub(t, b), "few", "small", 2, false); err != nil || pr.ReasonCode != 0 {
		t.Fatalf("publish: %v %v", pr, err)
	}
	if cmds := b.app.count.Load() - before; cmds != 1 {
		t.Fatalf("%d commands, want 1", cmds)
	}
	for _, id := range []string{"a", "b"} {
		if q, _ := b.store.Queue(id, 0, 0, time.Time{}); len(q) != 1 || string(q[0].Message.Payload) != "small" {
			t.Fatalf("queue %s: %+v", id, q)
		}
	}
}

// TestRetainedQuotaHook: the hook charges retained messages to the
// publisher's user, answers 0x97 past the bound (nothing retained, nothing
// enqueued for the persistent subscriber), counts the refusal, and lets
// QoS 0 through without retaining it.
func TestRetainedQuotaHook(t *testing.T) {
	lc := &limitCounter{}
	b := startBroker(t, t.TempDir(), DefaultConfig(), func(o *EngineOptions) {
		o.Retained = RetainedConfig{MaxPerUser: 2, MaxBytesPerUser: 1000}
		o.Limits = lc
	})
	sub, _ := connect(t, b.addr, "sub", true, 3600)
	subscribe(t, sub, "ret/#", 1)
	b.disconnect(t, sub, "sub")
	pub := connectPub(t, b)
	for i, want := range []byte{0, 0, 0x97} {
		pr, err := publish(pub, fmt.Sprintf("ret/%d", i), "x", 1, true)
		if err != nil && pr == nil {
			t.Fatal(err)
		}
		if pr.ReasonCode != want {
			t.Fatalf("retained %d: %#x, want %#x", i, pr.ReasonCode, want)
		}
	}
	if n, _, _ := b.store.QueueLen("sub"); n != 2 {
		t.Fatalf("queued %d, want 2 (the refused one not enqueued)", n)
	}
	if _, err := b.store.Retained("ret/2", time.Time{}); err == nil {
		t.Fatal("refused message retained")
	}
	if lc.get(LimitRetainedCount) != 1 {
		t.Fatalf("refusals %v", lc.n)
	}
	// Bytes: replacing ret/0 with 1000 bytes goes past 1000 in total.
	if pr, _ := publish(pub, "ret/0", strings.Repeat("y", 1000), 1, true); pr == nil || pr.ReasonCode != 0x97 {
		t.Fatalf("bytes bound: %v", pr)
	}
	if lc.get(LimitRetainedBytes) != 1 {
		t.Fatalf("refusals %v", lc.n)
	}
	// QoS 0: enqueued (delivered) but not retained.
	if _, err := publish(pub, "ret/9", "q0", 0, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "qos 0 enqueued", func() bool { n, _, _ := b.store.QueueLen("sub"); return n == 3 })
	if _, err := b.store.Retained("ret/9", time.Time{}); err == nil {
		t.Fatal("qos 0 message over the bound retained")
	}
	if len(b.engine.Retained("ret/9")) != 0 {
		t.Fatal("qos 0 message over the bound in the engine's retained index")
	}
	u, _ := b.store.RetainedUsage("")
	if u.Count != 2 {
		t.Fatalf("usage %+v", u)
	}
}

// TestFanoutManyIdentifiers: a target matched by more of its subscriptions
// than a reference can carry identifiers for gets a full copy with all of
// them [MQTT-3.3.4-3]; the publish still succeeds for everyone.
func TestFanoutManyIdentifiers(t *testing.T) {
	b := startBroker(t, t.TempDir(), DefaultConfig())
	for i := range 16 {
		id := fmt.Sprintf("plain%02d", i)
		c, _ := connect(t, b.addr, id, true, 3600)
		subscribe(t, c, "l0/l1/l2/l3/l4/l5/l6/l7/l8", 1)
		b.disconnect(t, c, id)
	}
	big, _ := connect(t, b.addr, "big", true, 3600)
	for mask := range 1 << 9 { // 512 distinct filters matching the topic
		var lv []string
		for l := range 9 {
			if mask&(1<<l) != 0 {
				lv = append(lv, "+")
			} else {
				lv = append(lv, fmt.Sprintf("l%d", l))
			}
		}
		sid := 268_435_455 - mask // 4-byte identifiers: 512 of them do not fit a reference
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := big.Subscribe(ctx, &paho.Subscribe{Properties: &paho.SubscribeProperties{SubscriptionIdentifier: &sid},
			Subscriptions: []paho.SubscribeOptions{{Topic: strings.Join(lv, "/"), QoS: 1}}})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	b.disconnect(t, big, "big")
	payload := strings.Repeat("m", 2048) // 17 targets: a shared body
	if pr, err := publish(connectPub(t, b), "l0/l1/l2/l3/l4/l5/l6/l7/l8", payload, 1, false); err != nil || pr.ReasonCode != 0 {
		t.Fatalf("publish: %v %v", pr, err)
	}
	q, err := b.store.Queue("big", 0, 0, time.Time{})
	if err != nil || len(q) != 1 || len(q[0].Message.Properties.SubscriptionIDs) != 512 {
		t.Fatalf("big's queue: %d entries %v", len(q), err)
	}
	if q, _ := b.store.Queue("plain00", 0, 0, time.Time{}); len(q) != 1 || string(q[0].Message.Payload) != payload {
		t.Fatalf("plain00's queue: %+v", q)
	}
}

// failNth fails the nth Apply (1-based, counted from arm) and passes the
// others to the node.
type failNth struct {
	inner Applier
	n     atomic.Int64
	at    atomic.Int64 // 0: never
}

func (f *failNth) Apply(ctx context.Context, cmd []byte) (any, error) {
	if at := f.at.Load(); at > 0 && f.n.Add(1) == at {
		return nil, errInjected
	}
	return f.inner.Apply(ctx, cmd)
}

// TestFanoutStagedAtomic: a fan-out spread over several commands that fails
// between them leaves no queue with the message (the references were only
// staged) and the publisher unacknowledged; the re-send reaches every
// session exactly once.
func TestFanoutStagedAtomic(t *testing.T) {
	fail := &failNth{}
	b := startBroker(t, t.TempDir(), DefaultConfig(), func(o *EngineOptions) {
		o.MaxCommandBytes = 8 << 10
		fail.inner = o.Node
		o.Node = fail
	})
	const n = 300
	offlineSessions(t, b, n, "fan/x")
	payload := strings.Repeat("p", 2000)
	pub := connectPub(t, b)
	fail.n.Store(0)
	fail.at.Store(3) // the third command of the fan-out
	if pr, _ := publish(pub, "fan/x", payload, 1, false); pr == nil || pr.ReasonCode != 0x80 {
		t.Fatalf("publish with a failed command: %v", pr)
	}
	for i := range n {
		if c, _, _ := b.store.QueueLen(fmt.Sprintf("s%03d", i)); c != 0 {
			t.Fatalf("s%03d has %d queued after a failed fan-out: partial state visible", i, c)
		}
	}
	fail.at.Store(0)
	if pr, err := publish(pub, "fan/x", payload, 1, false); err != nil || pr.ReasonCode != 0 {
		t.Fatalf("re-send: %v %v", pr, err)
	}
	for i := range n {
		if c, _, _ := b.store.QueueLen(fmt.Sprintf("s%03d", i)); c != 1 {
			t.Fatalf("s%03d has %d queued after the re-send, want 1", i, c)
		}
	}
	_, r := connect(t, b.addr, "s007", false, 3600)
	waitFor(t, "delivery", func() bool { return len(r.snapshot()) == 1 })
}

// offlineSessions creates n offline persistent sessions s000.. subscribed to
// filter at QoS 1.
func offlineSessions(t *testing.T, b *broker, n int, filter string) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("s%03d", i)
		c, _ := connect(t, b.addr, id, true, 3600)
		subscribe(t, c, filter, 1)
		b.disconnect(t, c, id)
	}
}
