package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/hooks/acl"
	"github.com/imqtt/imqtt/internal/testkit"
	"github.com/imqtt/imqtt/persist"
)

// countingApplier wraps the real node: counts applies, fails on demand.
type countingApplier struct {
	n     *cluster.Node
	count atomic.Int64
	fail  atomic.Pointer[error]
}

func (a *countingApplier) Apply(ctx context.Context, cmd []byte) (any, error) {
	a.count.Add(1)
	if e := a.fail.Load(); e != nil {
		return nil, *e
	}
	return a.n.Apply(ctx, cmd)
}

// allowAuth lets everyone connect.
type allowAuth struct{ mqtt.HookBase }

func (allowAuth) ID() string                                              { return "allow" }
func (allowAuth) Provides(b byte) bool                                    { return b == mqtt.OnConnectAuthenticate }
func (allowAuth) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

type broker struct {
	t     testing.TB
	dir   string
	srv   *mqtt.Server
	node  *cluster.Node
	store *persist.Store
	app   *countingApplier
	hook  *Hook
	addr  string
	once  sync.Once
	pubs  atomic.Int64
}

func testLog(t testing.TB) zerolog.Logger {
	return testkit.Logger(t, zerolog.WarnLevel)
}

// startBroker opens persist + cluster in dir and serves a mochi server with the
// storage hook and the real acl hook (allow-all rules); opts adjust the
// hook's Options.
func startBroker(t testing.TB, dir string, cfg Config, opts ...func(*Options)) *broker {
	t.Helper()
	pc := persist.DefaultConfig()
	pc.Dir = dir + "/fsm"
	pc.MinFreeBytes = 0
	pc.ValueLogGCInterval = 0
	st, err := persist.Open(pc, testLog(t))
	if err != nil {
		t.Fatalf("persist.Open: %v", err)
	}
	cc := cluster.DefaultConfig()
	cc.NodeID = "n1"
	cc.DataDir = dir
	cc.BindAddr = "127.0.0.1:0"
	cc.HeartbeatTimeout = 100 * time.Millisecond
	cc.ElectionTimeout = 100 * time.Millisecond
	cc.LeaderLeaseTimeout = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	n, err := cluster.Open(ctx, cc, st.StateMachine(), testLog(t))
	if err != nil {
		t.Fatalf("cluster.Open: %v", err)
	}
	if err := n.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	b := &broker{t: t, dir: dir, node: n, store: st, app: &countingApplier{n: n}}
	ac := acl.DefaultConfig()
	ac.Rules = []string{"pattern readwrite #"}
	plain, err := acl.New(ac, testLog(t), nil)
	if err != nil {
		t.Fatalf("acl.New: %v", err)
	}
	b.srv = mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	o := Options{Server: b.srv, Node: b.app, Store: st, ACL: plain, Log: testLog(t)}
	for _, f := range opts {
		f(&o)
	}
	b.hook, err = New(cfg, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	withPolicy, err := acl.New(ac, testLog(t), nil, acl.WithPolicies(b.hook.Policy()))
	if err != nil {
		t.Fatalf("acl.New: %v", err)
	}
	for _, h := range []mqtt.Hook{&allowAuth{}, withPolicy, b.hook} {
		if err := b.srv.AddHook(h, nil); err != nil {
			t.Fatalf("AddHook: %v", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = ln.Addr().String()
	ln.Close()
	if err := b.srv.AddListener(listeners.NewTCP(listeners.Config{ID: "t1", Address: b.addr})); err != nil {
		t.Fatalf("AddListener: %v", err)
	}
	if err := b.srv.Serve(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(b.stop)
	return b
}

// stop closes server, node and store (idempotent).
func (b *broker) stop() {
	b.once.Do(func() {
		_ = b.srv.Close()
		_ = b.node.Close()
		_ = b.store.Close()
	})
}

// crash closes the node and the store first, with the server still
// running: nothing that was not durable before an ack survives.
func (b *broker) crash() {
	b.once.Do(func() {
		_ = b.node.Close()
		_ = b.store.Close()
		_ = b.srv.Close()
	})
}

// received collects messages of one client.
type received struct {
	mu   sync.Mutex
	msgs []*paho.Publish
}

func (r *received) snapshot() []*paho.Publish {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*paho.Publish(nil), r.msgs...)
}

// connect connects a MQTT 5 client; expiry > 0 makes a persistent session.
func connect(t testing.TB, addr, id string, clean bool, expiry uint32) (*paho.Client, *received) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &received{}
	c := paho.NewClient(paho.ClientConfig{
		ClientID: id,
		Conn:     conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(p paho.PublishReceived) (bool, error) {
			r.mu.Lock()
			r.msgs = append(r.msgs, p.Packet)
			r.mu.Unlock()
			return true, nil
		}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: clean, KeepAlive: 30,
		Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}})
	if err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	if ca.ReasonCode != 0 {
		t.Fatalf("connack %s: %#x", id, ca.ReasonCode)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c, r
}

func subscribe(t testing.TB, c *paho.Client, filter string, qos byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
}

func publish(c *paho.Client, topic, payload string, qos byte, retain bool) (*paho.PublishResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Publish(ctx, &paho.Publish{Topic: topic, Payload: []byte(payload), QoS: qos, Retain: retain})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, what, cond)
}

// disconnect disconnects c and waits until the broker saw it.
func (b *broker) disconnect(t testing.TB, c *paho.Client, id string) {
	t.Helper()
	_ = c.Disconnect(&paho.Disconnect{})
	waitFor(t, "disconnect of "+id, func() bool {
		b.hook.mu.Lock()
		defer b.hook.mu.Unlock()
		s, ok := b.hook.sessions[id]
		return !ok || s.cl == nil
	})
}

var errInjected = errors.New("injected apply failure")

// connectPub connects a clean MQTT 5 publisher.
func connectPub(t testing.TB, b *broker) *paho.Client {
	t.Helper()
	c, _ := connect(t, b.addr, fmt.Sprintf("pub-%d", b.pubs.Add(1)), true, 0)
	return c
}
