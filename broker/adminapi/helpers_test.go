package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/hooks/acl"
	"github.com/imqtt/imqtt/hooks/storage"
	"github.com/imqtt/imqtt/internal/testkit"
	"github.com/imqtt/imqtt/persist"
)

// allowAuth lets everyone connect (the auth hook is tested elsewhere).
type allowAuth struct{ mqtt.HookBase }

func (allowAuth) ID() string                                              { return "allow" }
func (allowAuth) Provides(b byte) bool                                    { return b == mqtt.OnConnectAuthenticate }
func (allowAuth) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

// testNode is a real node without the broker package: persist store, one-voter
// raft node, mochi with the acl and storage hooks and a TCP listener, and the
// admin server with the API mounted.
type testNode struct {
	t       *testing.T
	srv     *mqtt.Server
	node    *cluster.Node
	store   *persist.Store
	storage *storage.Hook
	mqtt    string // MQTT address
	base    string // http://admin/api/v1
	reload  func() ReloadReport
	logs    *syncBuffer
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

// startNode builds the node; token configures the admin bearer token ("" none).
func startNode(t *testing.T, token string) *testNode {
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
	tn := &testNode{t: t, node: n, store: st, logs: &syncBuffer{}}
	tn.srv = mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ac := acl.DefaultConfig()
	ac.Rules = []string{"pattern readwrite #"}
	plain, err := acl.New(ac, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := storage.DefaultConfig()
	tn.storage, err = storage.New(sc, storage.Options{Server: tn.srv, Node: n, Store: st, ACL: plain, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	withPolicy, err := acl.New(ac, log, nil, acl.WithPolicies(tn.storage.Policy()))
	if err != nil {
		t.Fatal(err)
	}
	tracker := NewTracker()
	for _, h := range []mqtt.Hook{&allowAuth{}, withPolicy, tn.storage, tracker} {
		if err := tn.srv.AddHook(h, nil); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tn.mqtt = ln.Addr().String()
	_ = ln.Close()
	if err := tn.srv.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: tn.mqtt})); err != nil {
		t.Fatal(err)
	}

	acfg := admin.DefaultConfig()
	acfg.Address, acfg.Token = "127.0.0.1:0", token
	acfg.RequireToken = token != "" // no token: the explicit loopback opt-out
	apiLog := zerolog.New(io.MultiWriter(tn.logs, zerolog.NewTestWriter(t))).Level(zerolog.InfoLevel)
	as, err := admin.New(acfg, admin.Deps{}, apiLog)
	if err != nil {
		t.Fatal(err)
	}
	tn.reload = func() ReloadReport { return ReloadReport{Parts: []ReloadPart{{Part: "acl", Status: ReloadOK}}} }
	api, err := New(Deps{
		Server: tn.srv, Store: st, Apply: n.Apply, ExpireSession: tn.storage.OnClientExpired,
		Cluster: n.Status, Reload: func() ReloadReport { return tn.reload() }, Tracker: tracker,
		NodeID: "t1", TokenRequired: token != "", Log: apiLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Mount(as); err != nil {
		t.Fatal(err)
	}
	if err := tn.srv.Serve(); err != nil {
		t.Fatal(err)
	}
	if err := as.Start(); err != nil {
		t.Fatal(err)
	}
	tn.base = "http://" + as.Addr() + "/api/v1"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = as.Close(ctx)
		_ = tn.srv.Close()
		_ = n.Close()
		_ = st.Close()
	})
	return tn
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
	var e ErrorBody
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

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, what, cond)
}
