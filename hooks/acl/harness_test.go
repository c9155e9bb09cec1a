package acl

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker/engine"
	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/testkit"
)

const waitFor = 5 * time.Second

// countObserver counts denials per access kind.
type countObserver struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *countObserver) ACLDenied(access string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[access]++
}

func (o *countObserver) get(access string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[access]
}

type testBroker struct {
	addr string
	hook *Hook
	obs  *countObserver
	e    *engine.Engine
}

// allowAll authenticates every client with its CONNECT user name as its
// identity (hooks/auth would set it); it decides nothing else.
type allowAll struct{}

func (allowAll) Authenticate(_ context.Context, r *ext.ConnectRequest) ext.AuthResult {
	return ext.AuthResult{Identity: r.Client.Username}
}

// newTestBroker runs the engine on 127.0.0.1:0 with the ACL hook as its
// Authorizer (a test drives it through the engine, test-only imports).
func newTestBroker(t *testing.T, cfg Config) *testBroker {
	t.Helper()
	obs := &countObserver{}
	log := testkit.Logger(t, zerolog.DebugLevel)
	h, err := New(cfg, log, obs)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ecfg := engine.DefaultConfig()
	ecfg.SysInterval = time.Second // $SYS topics exist for the read checks
	e, err := engine.New(ecfg, engine.Options{Auth: allowAll{}, ACL: h, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	tcfg := transport.DefaultConfig()
	tcfg.Listeners = []listen.Config{{Name: "t1", Kind: listen.KindTCP, Address: "127.0.0.1:0"}}
	tcfg.Workers, tcfg.HandshakeWorkers = 4, 1
	tr, err := transport.New(tcfg, listen.NewGuard(listen.DefaultLimits(), nil, log), e, log)
	if err != nil {
		t.Fatal(err)
	}
	tr.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = e.Close(ctx)
		_ = tr.Close(ctx)
	})
	return &testBroker{addr: tr.Addr("t1").String(), hook: h, obs: obs, e: e}
}

// inbox records the topics a client receives, in order.
type inbox struct {
	mu     sync.Mutex
	topics []string
	retain []bool
}

func (b *inbox) add(topic string, retain bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.topics = append(b.topics, topic)
	b.retain = append(b.retain, retain)
}

func (b *inbox) has(topic string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, x := range b.topics {
		if x == topic {
			return true
		}
	}
	return false
}

func (b *inbox) count(topic string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, x := range b.topics {
		if x == topic {
			n++
		}
	}
	return n
}

// snapshot returns a copy of the topics received so far.
func (b *inbox) snapshot() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.topics...)
}

// wait polls until topic has been received, failing after waitFor.
func (b *inbox) wait(t *testing.T, who, topic string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !b.has(topic) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not receive %q within %s", who, topic, waitFor)
		}
		time.Sleep(2 * time.Millisecond) // polling interval, not synchronisation
	}
}

// client5 is a real MQTT 5 client (paho.golang).
type client5 struct {
	name string
	c    *paho.Client
	in   *inbox
}

func connect5(t *testing.T, addr, clientID, user string) *client5 {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	in := &inbox{}
	c := paho.NewClient(paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) {
				in.add(pr.Packet.Topic, pr.Packet.Retain)
				return true, nil
			},
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ca, err := c.Connect(ctx, &paho.Connect{
		ClientID: clientID, CleanStart: true, KeepAlive: 60,
		Username: user, UsernameFlag: user != "",
	})
	if err != nil || ca.ReasonCode != 0 {
		t.Fatalf("connect %q as %q: %v (%+v)", clientID, user, err, ca)
	}
	t.Cleanup(func() {
		_ = c.Disconnect(&paho.Disconnect{})
		select {
		case <-c.Done():
		case <-time.After(waitFor):
			t.Errorf("client %q did not stop", clientID)
		}
	})
	return &client5{name: clientID, c: c, in: in}
}

// subscribe returns the SUBACK reason code for one filter.
func (c *client5) subscribe(t *testing.T, filter string) byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	sa, err := c.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}})
	if sa == nil {
		t.Fatalf("%s subscribe %q: %v", c.name, filter, err)
	}
	return sa.Reasons[0]
}

// subscribeMany sends one SUBSCRIBE with several filters.
func (c *client5) subscribeMany(t *testing.T, filters ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var opts []paho.SubscribeOptions
	for _, f := range filters {
		opts = append(opts, paho.SubscribeOptions{Topic: f, QoS: 1})
	}
	sa, err := c.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: opts})
	if sa == nil {
		t.Fatalf("%s subscribe %q: %v", c.name, filters, err)
	}
	return sa.Reasons
}

func (c *client5) unsubscribe(t *testing.T, filter string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := c.c.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{filter}}); err != nil {
		t.Fatalf("%s unsubscribe %q: %v", c.name, filter, err)
	}
}

// publish returns the PUBACK (QoS 1) or PUBREC (QoS 2) reason code, 0 for QoS 0.
func (c *client5) publish(t *testing.T, topic string, qos byte, retain bool) byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	pr, err := c.c.Publish(ctx, &paho.Publish{Topic: topic, QoS: qos, Retain: retain, Payload: []byte("p")})
	if pr == nil {
		t.Fatalf("%s publish %q: %v", c.name, topic, err)
	}
	return pr.ReasonCode
}

// client3 is a real MQTT 3.1.1 client (paho.mqtt.golang).
type client3 struct {
	name string
	c    pahov3.Client
	in   *inbox
}

func connect3(t *testing.T, addr, clientID, user string) *client3 {
	t.Helper()
	c3 := &client3{name: clientID, in: &inbox{}}
	opts := pahov3.NewClientOptions().AddBroker("tcp://" + addr).
		SetClientID(clientID).SetUsername(user).SetProtocolVersion(4).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetOrderMatters(true).
		SetDefaultPublishHandler(func(_ pahov3.Client, m pahov3.Message) { c3.in.add(m.Topic(), m.Retained()) })
	c3.c = pahov3.NewClient(opts)
	tok := c3.c.Connect()
	if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("v3 connect %q: %v", clientID, tok.Error())
	}
	t.Cleanup(func() { c3.c.Disconnect(100) })
	return c3
}

// subscribe returns the v3 SUBACK return code (0x80 = failure).
func (c *client3) subscribe(t *testing.T, filter string) byte {
	t.Helper()
	tok := c.c.Subscribe(filter, 1, nil)
	if !tok.WaitTimeout(waitFor) {
		t.Fatalf("%s subscribe %q: timeout", c.name, filter)
	}
	st, ok := tok.(*pahov3.SubscribeToken)
	if !ok {
		t.Fatalf("token %T", tok)
	}
	res := st.Result()
	if code, ok := res[filter]; ok {
		return code
	}
	// paho keys a shared subscription by its filter without "$share/{group}/".
	if len(res) == 1 {
		for _, code := range res {
			return code
		}
	}
	t.Fatalf("%s subscribe %q: no result in %v (%v)", c.name, filter, res, tok.Error())
	return 0
}
