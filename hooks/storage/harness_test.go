package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker/engine"
	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/hooks/acl"
	"github.com/imqtt/imqtt/hooks/ext"
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

// allowAll authenticates every client with its CONNECT user name as its
// identity.
type allowAll struct{}

func (allowAll) Authenticate(_ context.Context, r *ext.ConnectRequest) ext.AuthResult {
	return ext.AuthResult{Identity: r.Client.Username}
}

type broker struct {
	t         testing.TB
	dir       string
	engine    *engine.Engine
	transport *transport.Server
	node      *cluster.Node
	store     *persist.Store
	app       *countingApplier
	es        *EngineStore
	addr      string
	once      sync.Once
	pubs      atomic.Int64
}

func testLog(t testing.TB) zerolog.Logger {
	return testkit.Logger(t, zerolog.WarnLevel)
}

// startBroker opens persist + cluster in dir and serves the engine with the
// EngineStore and the real acl hook (allow-all rules) over a TCP transport;
// opts adjust the store's EngineOptions.
func startBroker(t testing.TB, dir string, cfg Config, opts ...func(*EngineOptions)) *broker {
	t.Helper()
	st, n := openReplica(t, dir)
	b := &broker{t: t, dir: dir, node: n, store: st, app: &countingApplier{n: n}}
	ac := acl.DefaultConfig()
	ac.Rules = []string{"pattern readwrite #"}
	z, err := acl.New(ac, testLog(t), nil)
	if err != nil {
		t.Fatalf("acl.New: %v", err)
	}
	o := EngineOptions{Node: b.app, Store: st, Log: testLog(t), NodeID: "n1"}
	for _, f := range opts {
		f(&o)
	}
	if b.es, err = NewEngineStore(cfg, o); err != nil {
		t.Fatalf("NewEngineStore: %v", err)
	}
	st.SetObserver(b.es.Observe)
	b.es.Start()
	ecfg := engine.DefaultConfig()
	ecfg.SweepInterval = 50 * time.Millisecond
	if b.engine, err = engine.New(ecfg, engine.Options{Auth: allowAll{}, ACL: z, Store: b.es, Log: testLog(t)}); err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	tcfg := transport.DefaultConfig()
	tcfg.Listeners = []listen.Config{{Name: "t1", Kind: listen.KindTCP, Address: "127.0.0.1:0"}}
	tcfg.Workers, tcfg.HandshakeWorkers = 4, 1
	if b.transport, err = transport.New(tcfg, listen.NewGuard(listen.DefaultLimits(), nil, testLog(t)), b.engine, testLog(t)); err != nil {
		t.Fatalf("transport.New: %v", err)
	}
	b.addr = b.transport.Addr("t1").String()
	b.transport.Start()
	t.Cleanup(b.stop)
	return b
}

// stop closes engine, store, transport, node and store (idempotent), in
// the broker's order.
func (b *broker) stop() {
	b.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.engine.Close(ctx)
		_ = b.es.Close()
		_ = b.transport.Close(ctx)
		_ = b.node.Close()
		_ = b.store.Close()
	})
}

// crash closes the node and the store first, with the engine still
// running: nothing that was not durable before an ack survives.
func (b *broker) crash() {
	b.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.node.Close()
		_ = b.store.Close()
		_ = b.engine.Close(ctx)
		_ = b.es.Close()
		_ = b.transport.Close(ctx)
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
	waitFor(t, "disconnect of "+id, func() bool { return b.offline(id) })
}

var errInjected = errors.New("injected apply failure")

// connectPub connects a clean MQTT 5 publisher.
func connectPub(t testing.TB, b *broker) *paho.Client {
	t.Helper()
	c, _ := connect(t, b.addr, fmt.Sprintf("pub-%d", b.pubs.Add(1)), true, 0)
	return c
}

// offline reports whether the engine holds no connected client for id.
func (b *broker) offline(id string) bool {
	si, ok := b.engine.Session(id)
	return !ok || !si.Online
}
