package engine

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/mochi-mqtt/server/v2/packets"
)

// lifeRecorder is a Lifecycle that records its calls and refuses client
// ids listed in refuse with 0x97.
type lifeRecorder struct {
	mu     sync.Mutex
	calls  []string
	refuse map[string]bool
}

func (l *lifeRecorder) Connected(_ context.Context, c *ext.Client) byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fmt.Sprintf("+%s/%s", c.Username, c.ID))
	if l.refuse[c.ID] {
		return 0x97
	}
	return 0
}

func (l *lifeRecorder) Disconnected(c *ext.Client) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fmt.Sprintf("-%s/%s", c.Username, c.ID))
}

func (l *lifeRecorder) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// waitCalls polls until the recorder holds want, in order.
func (l *lifeRecorder) waitCalls(t *testing.T, want ...string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("lifecycle calls %q", want), func() bool { return slices.Equal(l.got(), want) })
}

// waitCallsAnyOrder is waitCalls for calls of different client ids or
// connections whose order is not fixed.
func (l *lifeRecorder) waitCallsAnyOrder(t *testing.T, want ...string) {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	waitFor(t, fmt.Sprintf("lifecycle calls %q", want), func() bool {
		got := l.got()
		slices.Sort(got)
		return slices.Equal(got, want)
	})
}

func asUser(u string) func(*packets.Packet) {
	return func(pk *packets.Packet) { pk.Connect.Username, pk.Connect.UsernameFlag = []byte(u), true }
}

// TestLifecycle: Connected before the CONNACK (a refusal is the CONNACK's
// code, 3.1.1 mapped, and no Disconnected follows), Disconnected once per
// accepted connection, none for a takeover by the same user's device, none
// for another user's refused CONNECT.
func TestLifecycle(t *testing.T) {
	l := &lifeRecorder{refuse: map[string]bool{"capped": true, "capped3": true}}
	te := newTestEngine(t, nil, func(o *Options) { o.Lifecycle = l })

	c := dialRaw(t, te.addr, 5)
	if ca := c.connect("capped", true, asUser("bob")); ca.ReasonCode != 0x97 {
		t.Fatalf("refused v5: CONNACK 0x%02x, want 0x97", ca.ReasonCode)
	}
	c.expectClosed()
	c3 := dialRaw(t, te.addr, 4)
	if ca := c3.connect("capped3", true, asUser("bob")); ca.ReasonCode != 3 {
		t.Fatalf("refused 3.1.1: CONNACK return code %d, want 3", ca.ReasonCode)
	}
	c3.expectClosed()
	l.waitCallsAnyOrder(t, "+bob/capped", "+bob/capped3")
	if te.current("capped") != nil || te.current("capped3") != nil {
		t.Fatal("a refused connection is still attached")
	}

	// A normal connection and DISCONNECT: one call each.
	a := dialRaw(t, te.addr, 5)
	a.connect("dev", true, asUser("bob"))
	a.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	a.expectClosed()
	l.waitCalls(t, "+bob/capped", "+bob/capped3", "+bob/dev", "-bob/dev")

	// A takeover by the same user: the old connection's end is not reported.
	b1 := dialRaw(t, te.addr, 5)
	b1.connect("dev", true, asUser("bob"))
	b2 := dialRaw(t, te.addr, 5)
	b2.connect("dev", true, asUser("bob"))
	if d := b1.expect(packets.Disconnect); d.ReasonCode != 0x8E {
		t.Fatalf("taken over: DISCONNECT 0x%02x", d.ReasonCode)
	}
	b1.expectClosed()
	base := []string{"+bob/capped", "+bob/capped3", "+bob/dev", "-bob/dev", "+bob/dev", "+bob/dev"}
	l.waitCalls(t, base...)

	// Another user cannot take the client id (bounds.go): refused before
	// Connected is asked, and bob's device stays until it leaves.
	e1 := dialRaw(t, te.addr, 5)
	if ca := e1.connect("dev", true, asUser("eve")); ca.ReasonCode != 0x87 {
		t.Fatalf("eve over bob's live session: CONNACK 0x%02x, want 0x87", ca.ReasonCode)
	}
	e1.expectClosed()
	b2.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	b2.expectClosed()
	l.waitCalls(t, append(base, "-bob/dev")...)
}

// gateLife is a Lifecycle whose Connected blocks, for client ids starting
// with "slow", until release is closed (then it records the call as
// lifeRecorder does) or its ctx ends (then it answers 0x8B, as hooks/im
// does when the service closes, and records nothing).
//
// Disconnected blocks likewise, for client ids starting with "bye", until
// bye is closed, then records the call.
type gateLife struct {
	lifeRecorder
	release chan struct{}
	blocked atomic.Int32 // Connected calls waiting at the gate now
	bye     chan struct{}
	leaving atomic.Int32 // Disconnected calls waiting at the gate now
}

func newGateLife() *gateLife {
	return &gateLife{release: make(chan struct{}), bye: make(chan struct{})}
}

func (g *gateLife) Disconnected(c *ext.Client) {
	if strings.HasPrefix(c.ID, "bye") {
		g.leaving.Add(1)
		defer g.leaving.Add(-1)
		<-g.bye
	}
	g.lifeRecorder.Disconnected(c)
}

func (g *gateLife) Connected(ctx context.Context, c *ext.Client) byte {
	if strings.HasPrefix(c.ID, "slow") {
		g.blocked.Add(1)
		defer g.blocked.Add(-1)
		select {
		case <-g.release:
		case <-ctx.Done():
			return 0x8B
		}
	}
	return g.lifeRecorder.Connected(ctx, c)
}

// callsOf returns the recorded calls of client id.
func (l *lifeRecorder) callsOf(id string) []string {
	var out []string
	for _, c := range l.got() {
		if strings.HasSuffix(c, "/"+id) {
			out = append(out, c)
		}
	}
	return out
}

// pahoPubSub connects a paho subscriber and publisher (KeepAlive 0), and
// checks that a QoS 1 message goes from one to the other, all within d.
func pahoPubSub(t *testing.T, addr, prefix string, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	got := make(chan *paho.Publish, 1)
	dial := func(id string, recv bool) *paho.Client {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		cfg := paho.ClientConfig{Conn: conn, ClientID: id}
		if recv {
			cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
				select {
				case got <- pr.Packet:
				default:
				}
				return true, nil
			}}
		}
		pc := paho.NewClient(cfg)
		uname := "alice"
		ca, err := pc.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 0, UsernameFlag: true, Username: uname})
		if err != nil || ca.ReasonCode != 0 {
			conn.Close()
			t.Fatalf("paho %s connect while Lifecycle.Connected blocks: %v", id, err)
		}
		t.Cleanup(func() { _ = pc.Disconnect(&paho.Disconnect{}) })
		return pc
	}
	sub := dial(prefix+"-sub", true)
	if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: prefix + "/#", QoS: 1}}}); err != nil {
		t.Fatalf("paho subscribe: %v", err)
	}
	pub := dial(prefix+"-pub", false)
	if _, err := pub.Publish(ctx, &paho.Publish{Topic: prefix + "/x", QoS: 1, Payload: []byte("hi")}); err != nil {
		t.Fatalf("paho publish: %v", err)
	}
	select {
	case m := <-got:
		if string(m.Payload) != "hi" {
			t.Fatalf("paho got %q", m.Payload)
		}
	case <-ctx.Done():
		t.Fatal("paho subscriber got nothing")
	}
}

// TestLifecycleConnectedOffWorker: Lifecycle.Connected (the IM device cap,
// a raft write in a cluster) does not run on a transport worker. With more
// CONNECTs blocked in it than there are workers, paho clients still connect
// and publish/subscribe; the blocked clients get no CONNACK until it
// answers, then their CONNACK and a working session; one that closed its
// socket meanwhile ends cleanly (Connected then Disconnected, detached; the
// goroutine baseline is checked at cleanup), in memory and with a store.
func TestLifecycleConnectedOffWorker(t *testing.T) {
	for _, durable := range []bool{false, true} {
		t.Run(map[bool]string{false: "memory", true: "durable"}[durable], func(t *testing.T) {
			var st *memStore
			var store ext.Store
			if durable {
				st = newMemStore()
				store = st
			}
			const workers, slow = 2, 5
			g := newGateLife()
			te := newStoreEngine(t, store, func(_ *Config, tc *transport.Config) { tc.Workers = workers },
				func(o *Options) { o.Lifecycle = g })
			expiry := func(pk *packets.Packet) {
				asUser("bob")(pk)
				if durable {
					pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 3600, true
				}
			}
			cs := make([]*raw, slow)
			for i := range cs {
				cs[i] = dialRaw(t, te.addr, 5)
				pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}}
				pk.Connect.ClientIdentifier, pk.Connect.Clean, pk.Connect.Keepalive = fmt.Sprintf("slow-%d", i), true, 60
				expiry(&pk)
				cs[i].send(pk)
			}
			waitFor(t, "every worker's worth of CONNECTs in Connected", func() bool { return g.blocked.Load() >= workers })

			pahoPubSub(t, te.addr, "free", 3*time.Second)
			waitFor(t, "every slow CONNECT in Connected", func() bool { return g.blocked.Load() == slow })

			cs[0].c.Close() // gone while Connected blocks
			for _, c := range cs[1:] {
				if pk, err := c.tryRecv(20 * time.Millisecond); err == nil {
					t.Fatalf("%s before Lifecycle.Connected answered", packets.PacketNames[pk.FixedHeader.Type])
				}
			}
			close(g.release)
			for i, c := range cs[1:] {
				if ca := c.expect(packets.Connack); ca.ReasonCode != 0 {
					t.Fatalf("slow-%d: CONNACK 0x%02x", i+1, ca.ReasonCode)
				}
				if codes := c.subscribe("s/#", 1, nil); codes[0] != 1 {
					t.Fatalf("slow-%d: SUBACK %v", i+1, codes)
				}
				if durable {
					if r, ok := st.session(fmt.Sprintf("slow-%d", i+1)); !ok || r.DisconnectedAt != 0 {
						t.Fatalf("slow-%d: stored %+v %v, want connected", i+1, r, ok)
					}
				}
			}
			waitFor(t, "slow-0's Connected and Disconnected", func() bool {
				return slices.Equal(g.callsOf("slow-0"), []string{"+bob/slow-0", "-bob/slow-0"})
			})
			waitFor(t, "slow-0 detached", func() bool { return te.current("slow-0") == nil })
			if durable {
				waitFor(t, "slow-0's disconnected record", func() bool {
					r, ok := st.session("slow-0")
					return ok && r.DisconnectedAt != 0
				})
			}
			for _, c := range cs[1:] {
				c.disconnectAndWait()
			}
		})
	}
}

// connectNoWait sends a v5 CONNECT of a persistent session (Session Expiry
// 3600) as user bob without reading the CONNACK.
func connectNoWait(t *testing.T, addr, id string) *raw {
	t.Helper()
	c := dialRaw(t, addr, 5)
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}}
	pk.Connect.ClientIdentifier, pk.Connect.Clean, pk.Connect.Keepalive = id, false, 60
	pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 3600, true
	asUser("bob")(&pk)
	c.send(pk)
	return c
}

// TestLifecycleTakeoverWhileConnectedBlocks: a second CONNECT of the client
// id while the first one's Connected blocks takes the session over. The
// first is closed without a CONNACK; the calls stay in order per id (the
// first's Connected, then the second's, no Disconnected in between: the same
// device carries on), the second gets its CONNACK, and its end is reported.
func TestLifecycleTakeoverWhileConnectedBlocks(t *testing.T) {
	g := newGateLife()
	te := newTestEngine(t, nil, func(o *Options) { o.Lifecycle = g })
	c1 := connectNoWait(t, te.addr, "slow-t")
	waitFor(t, "the first Connected", func() bool { return g.blocked.Load() == 1 })
	c2 := connectNoWait(t, te.addr, "slow-t")
	c1.expectClosed() // taken over before its CONNACK: nothing sent [MQTT-3.2.0-1]
	if pk, err := c2.tryRecv(20 * time.Millisecond); err == nil {
		t.Fatalf("%s before the first Connected answered", packets.PacketNames[pk.FixedHeader.Type])
	}
	close(g.release)
	if ca := c2.expect(packets.Connack); ca.ReasonCode != 0 {
		t.Fatalf("second: CONNACK 0x%02x", ca.ReasonCode)
	}
	g.waitCalls(t, "+bob/slow-t", "+bob/slow-t")
	if te.current("slow-t") == nil {
		t.Fatal("second connection not attached")
	}
	c2.disconnectAndWait()
	g.waitCalls(t, "+bob/slow-t", "+bob/slow-t", "-bob/slow-t")
}

// TestLifecycleCloseWhileConnectedBlocks: Engine.Close while CONNECTs wait
// in Connected ends its ctx; the connections are refused (0x8B, or closed
// before it is written) and closed, a durable one's record says
// disconnected, Close returns in time and no goroutine is left (cleanup).
func TestLifecycleCloseWhileConnectedBlocks(t *testing.T) {
	st := newMemStore()
	g := newGateLife()
	te := newStoreEngine(t, st, func(_ *Config, tc *transport.Config) { tc.Workers = 1 },
		func(o *Options) { o.Lifecycle = g })
	c1 := connectNoWait(t, te.addr, "slow-1")
	c2 := connectNoWait(t, te.addr, "slow-2")
	waitFor(t, "both Connected", func() bool { return g.blocked.Load() == 2 })
	start := time.Now()
	te.stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
	for _, c := range []*raw{c1, c2} {
		if pk, err := c.tryRecv(5 * time.Second); err == nil && (pk.FixedHeader.Type != packets.Connack || pk.ReasonCode != 0x8B) {
			t.Fatalf("got %s 0x%02x, want CONNACK 0x8B or a close", packets.PacketNames[pk.FixedHeader.Type], pk.ReasonCode)
		}
		c.expectClosed()
	}
	for _, id := range []string{"slow-1", "slow-2"} {
		if r, ok := st.session(id); !ok || r.DisconnectedAt == 0 {
			t.Fatalf("%s: stored %+v %v, want disconnected", id, r, ok)
		}
	}
	if got := g.got(); len(got) != 0 {
		t.Fatalf("lifecycle calls %q, want none", got)
	}
}

// TestLifecycleDisconnectedOffWorker: Lifecycle.Disconnected runs on the
// ended connection's reader (transport Handler.Closed), never on a worker:
// with more connections blocked in it than there are workers, paho clients
// still connect and publish/subscribe. A reconnect of a client id whose
// Disconnected blocks is answered after it, in order (-, then +).
func TestLifecycleDisconnectedOffWorker(t *testing.T) {
	const workers, n = 2, 4
	g := newGateLife()
	te := newTestEngine(t, func(_ *Config, tc *transport.Config) { tc.Workers = workers },
		func(o *Options) { o.Lifecycle = g })
	t.Cleanup(func() {
		select {
		case <-g.bye:
		default:
			close(g.bye) // before the engine's cleanup: its readers wait here
		}
	})
	for i := range n {
		c := dialRaw(t, te.addr, 5)
		c.connect(fmt.Sprintf("bye-%d", i), true, asUser("bob"))
		c.disconnectAndWait()
	}
	waitFor(t, "every Disconnected blocked", func() bool { return g.leaving.Load() == n })

	pahoPubSub(t, te.addr, "free", 3*time.Second)

	again := connectNoWait(t, te.addr, "bye-0")
	if pk, err := again.tryRecv(20 * time.Millisecond); err == nil {
		t.Fatalf("%s before the old connection's Disconnected returned", packets.PacketNames[pk.FixedHeader.Type])
	}
	close(g.bye)
	if ca := again.expect(packets.Connack); ca.ReasonCode != 0 {
		t.Fatalf("reconnect: CONNACK 0x%02x", ca.ReasonCode)
	}
	if got := g.callsOf("bye-0"); !slices.Equal(got, []string{"+bob/bye-0", "-bob/bye-0", "+bob/bye-0"}) {
		t.Fatalf("bye-0 calls %q", got)
	}
	again.disconnectAndWait()
}
