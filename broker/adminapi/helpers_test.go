package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker"
	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/broker/adminapi"
	"github.com/imqtt/imqtt/broker/engine"
	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/hooks/acl"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/hooks/storage"
	"github.com/imqtt/imqtt/internal/testkit"
	"github.com/imqtt/imqtt/persist"
)

// Error codes of the JSON error body (codes.go).
const (
	codeBadRequest   = "bad_request"
	codeNotFound     = "not_found"
	codeConflict     = "conflict"
	codeReloadFailed = "reload_failed"
)

// Engine set-ups the tests run the API on: the engine with durable
// sessions (hooks/storage EngineStore, the default), and the engine with
// storage off (sessions in memory).
const (
	engDurable = "native"
	engMemory  = "native-memory"
)

// forEngines runs f as a subtest per set-up.
func forEngines(t *testing.T, f func(t *testing.T, eng string)) {
	for _, eng := range []string{engDurable, engMemory} {
		t.Run(eng, func(t *testing.T) { f(t, eng) })
	}
}

// allowAll is the native engine's Authenticator in these tests: every
// CONNECT is accepted with its user name as identity (the ACL is the real
// hooks/acl with readwrite #).
type allowAll struct{}

func (allowAll) Authenticate(_ context.Context, r *ext.ConnectRequest) ext.AuthResult {
	return ext.AuthResult{Identity: r.Client.Username}
}

// testNode is a real node assembled by hand: persist store, one-voter raft
// node, the engine (with the durable session store or storage off) over its
// transport with a TCP listener, and the admin server with the API mounted
// on the broker's adapter of the engine.
type testNode struct {
	t         *testing.T
	eng       string
	engine    *engine.Engine
	node      *cluster.Node
	store     *persist.Store
	sessions  *storage.EngineStore // engDurable only
	transport *transport.Server
	mqtt      string // MQTT address
	base      string // http://admin/api/v1
	reload    func() adminapi.ReloadReport
	logs      *syncBuffer
}

// syncBuffer is a log sink the test reads while handlers write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const testToken = "adminapi-test-token-0123456789"

// startNode builds a node with durable sessions; token configures the admin
// bearer token ("" none).
func startNode(t *testing.T, token string) *testNode {
	t.Helper()
	return startEngineNode(t, token, engDurable)
}

// startEngineNode builds the node on eng.
func startEngineNode(t *testing.T, token, eng string) *testNode {
	t.Helper()
	dir := t.TempDir()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	pc := persist.DefaultConfig()
	pc.Dir = dir + "/fsm"
	pc.MinFreeBytes = 0
	pc.ValueLogGCInterval = 0
	st, err := persist.Open(pc, log)
	if err != nil {
		t.Fatalf("persist.Open: %v", err)
	}
	cc := cluster.DefaultConfig()
	cc.NodeID, cc.DataDir, cc.BindAddr = "t1", dir, "127.0.0.1:0"
	cc.HeartbeatTimeout, cc.ElectionTimeout, cc.LeaderLeaseTimeout = 100*time.Millisecond, 100*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	n, err := cluster.Open(ctx, cc, st.StateMachine(), log)
	if err != nil {
		t.Fatalf("cluster.Open: %v", err)
	}
	if err := n.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	tn := &testNode{t: t, eng: eng, node: n, store: st, logs: &syncBuffer{}}
	ac := acl.DefaultConfig()
	ac.Rules = []string{"pattern readwrite #"}
	side, serve := tn.startEngine(ac, log)
	acfg := admin.DefaultConfig()
	acfg.Address, acfg.Token = "127.0.0.1:0", token
	acfg.RequireToken = token != "" // no token: the explicit loopback opt-out
	apiLog := zerolog.New(io.MultiWriter(tn.logs, zerolog.NewTestWriter(t))).Level(zerolog.InfoLevel)
	as, err := admin.New(acfg, admin.Deps{}, apiLog)
	if err != nil {
		t.Fatal(err)
	}
	tn.reload = func() adminapi.ReloadReport {
		return adminapi.ReloadReport{Parts: []adminapi.ReloadPart{{Part: "acl", Status: adminapi.ReloadOK}}}
	}
	api, err := adminapi.New(adminapi.Deps{
		MQTT: side, Store: st, Apply: n.Apply,
		Cluster: n.Status, Reload: func() adminapi.ReloadReport { return tn.reload() },
		NodeID: "t1", TokenRequired: token != "", Log: apiLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Mount(as); err != nil {
		t.Fatal(err)
	}
	serve()
	if err := as.Start(); err != nil {
		t.Fatal(err)
	}
	tn.base = "http://" + as.Addr() + "/api/v1"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = as.Close(ctx)
		tn.closeMQTT(ctx)
		_ = n.Close()
		_ = st.Close()
	})
	return tn
}

// startEngine builds the engine with the acl hook (and, for engDurable, the
// durable session store) over its transport on 127.0.0.1:0 (bound here);
// serve starts accepting.
func (tn *testNode) startEngine(ac acl.Config, log zerolog.Logger) (adminapi.MQTT, func()) {
	t := tn.t
	z, err := acl.New(ac, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	ecfg := engine.DefaultConfig()
	ecfg.SweepInterval = 50 * time.Millisecond
	eopts := engine.Options{Auth: allowAll{}, ACL: z, Log: log}
	if tn.eng == engDurable {
		tn.sessions, err = storage.NewEngineStore(storage.DefaultConfig(), storage.EngineOptions{
			Node: tn.node, Store: tn.store, Log: log, IsLeader: tn.node.IsLeader, NodeID: "t1",
		})
		if err != nil {
			t.Fatal(err)
		}
		tn.store.SetObserver(tn.sessions.Observe)
		tn.sessions.Start()
		eopts.Store = tn.sessions
	}
	tn.engine, err = engine.New(ecfg, eopts)
	if err != nil {
		t.Fatal(err)
	}
	tcfg := transport.DefaultConfig()
	tcfg.Listeners = []listen.Config{{Name: "tcp", Kind: listen.KindTCP, Address: "127.0.0.1:0"}}
	tcfg.Workers, tcfg.HandshakeWorkers = 4, 1
	tn.transport, err = transport.New(tcfg, listen.NewGuard(listen.DefaultLimits(), nil, log), tn.engine, log)
	if err != nil {
		t.Fatal(err)
	}
	tn.mqtt = tn.transport.Addr("tcp").String()
	return broker.EngineAdminMQTT(tn.engine), tn.transport.Start
}

// closeMQTT closes the MQTT side (engine, store, transport, as the broker does).
func (tn *testNode) closeMQTT(ctx context.Context) {
	if tn.engine != nil {
		_ = tn.engine.Close(ctx)
	}
	if tn.sessions != nil {
		_ = tn.sessions.Close()
	}
	if tn.transport != nil {
		_ = tn.transport.Close(ctx)
	}
}

// call sends one request to the API and decodes a JSON answer into out
// (when non-nil); it returns the status and the raw body.
func (tn *testNode) call(method, path, token string, out any) (int, string) {
	tn.t.Helper()
	req, err := http.NewRequest(method, tn.base+path, nil)
	if err != nil {
		tn.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method == http.MethodPost { // the admin listener refuses other body types (415)
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tn.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		tn.t.Fatalf("%s %s: content type %q, body %s", method, path, ct, body)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(body, out); err != nil {
			tn.t.Fatalf("%s %s: decode %s: %v", method, path, body, err)
		}
	}
	return resp.StatusCode, string(body)
}

// mustStatus calls and fails unless the status is want.
func (tn *testNode) mustStatus(want int, method, path string, out any) string {
	tn.t.Helper()
	got, body := tn.call(method, path, "", out)
	if got != want {
		tn.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, got, want, body)
	}
	return body
}

// errorCode decodes an error body's code.
func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e adminapi.ErrorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not an error body: %s", body)
	}
	return e.Error.Code
}

// v5 is a connected paho.golang client.
type v5 struct {
	*paho.Client
	connack *paho.Connack
	discon  chan *paho.Disconnect
	msgs    chan *paho.Publish
	closed  chan struct{}
}

// connectV5 connects an MQTT 5 client; expiry > 0 makes a persistent session.
func (tn *testNode) connectV5(id string, clean bool, expiry uint32) *v5 {
	tn.t.Helper()
	conn, err := net.DialTimeout("tcp", tn.mqtt, 5*time.Second)
	if err != nil {
		tn.t.Fatal(err)
	}
	c := &v5{discon: make(chan *paho.Disconnect, 1), msgs: make(chan *paho.Publish, 100), closed: make(chan struct{})}
	var once sync.Once
	c.Client = paho.NewClient(paho.ClientConfig{
		Conn: conn, ClientID: id,
		OnServerDisconnect: func(d *paho.Disconnect) { c.discon <- d },
		OnClientError:      func(error) { once.Do(func() { close(c.closed) }) },
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) { c.msgs <- pr.Packet; return true, nil },
		},
	})
	cp := &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: clean}
	if expiry > 0 {
		cp.Properties = &paho.ConnectProperties{SessionExpiryInterval: &expiry}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.connack, err = c.Connect(ctx, cp)
	if err != nil {
		tn.t.Fatalf("connect %s: %v", id, err)
	}
	tn.t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c
}

func (c *v5) subscribe(t *testing.T, filters ...string) {
	t.Helper()
	var opts []paho.SubscribeOptions
	for _, f := range filters {
		opts = append(opts, paho.SubscribeOptions{Topic: f, QoS: 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: opts}); err != nil {
		t.Fatalf("subscribe %v: %v", filters, err)
	}
}

// next returns the next message the client receives (10 s at most).
func (c *v5) next(t *testing.T) *paho.Publish {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10 s")
		return nil
	}
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, what, cond)
}
