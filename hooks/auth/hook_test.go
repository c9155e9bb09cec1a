package auth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	pahov3packets "github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker/engine"
	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/testkit"
)

const testListenerID = "t1"

// allowAllACL is the test's ACL: it allows every topic, and as the
// engine's Lifecycle it records the user name the engine holds for each
// client when the session is attached (before the CONNACK), which is the
// identity the rest of the broker sees.
type allowAllACL struct {
	mu    sync.Mutex
	users map[string]string // client id -> ext.Client.Username
}

func (a *allowAllACL) Allow(*ext.Client, string, ext.Access) bool { return true }

func (a *allowAllACL) Connected(_ context.Context, c *ext.Client) byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users[c.ID] = c.Username
	return 0
}

func (a *allowAllACL) Disconnected(*ext.Client) {}

func (a *allowAllACL) user(clientID string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[clientID]
	return u, ok
}

// recObserver records refusal reasons.
type recObserver struct {
	mu      sync.Mutex
	reasons []string
	limits  []string // LimitRefused calls
}

func (o *recObserver) AuthFailed(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reasons = append(o.reasons, reason)
}

func (o *recObserver) LimitRefused(limit string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.limits = append(o.limits, limit)
}

func (o *recObserver) limitCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.limits)
}

func (o *recObserver) all() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.reasons...)
}

// willCall is one WillCheck call.
type willCall struct{ user, clientID, topic string }

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// testBroker is the engine on 127.0.0.1:0 with the auth hook as its
// Authenticator and the allow-all ACL.
type testBroker struct {
	addr     string
	hook     *Hook
	acl      *allowAllACL
	obs      *recObserver
	logs     *syncBuffer
	mu       sync.Mutex
	wills    []willCall
	loopback []string // listener ids asked about
}

type brokerOpts struct {
	loopback  bool                                    // answer of LoopbackListener
	willCheck func(user, clientID, topic string) bool // nil: allow "will/{user}" only
	users     UserStore                               // Options.Users (nil: none)
}

func newTestBroker(t *testing.T, cfg Config, mods ...func(*brokerOpts)) *testBroker {
	t.Helper()
	o := brokerOpts{loopback: true}
	for _, m := range mods {
		m(&o)
	}
	if o.willCheck == nil {
		o.willCheck = func(user, _, topic string) bool { return topic == "will/"+user }
	}
	tb := &testBroker{
		acl:  &allowAllACL{users: make(map[string]string)},
		obs:  &recObserver{},
		logs: &syncBuffer{},
	}
	log := zerolog.New(io.MultiWriter(tb.logs, zerolog.NewTestWriter(t))).Level(zerolog.DebugLevel)
	h, err := New(cfg, Options{
		Log: log,
		WillCheck: func(user, clientID, topic string) bool {
			tb.mu.Lock()
			// topic aliases the read buffer (ext.ConnectRequest): keep a copy.
			tb.wills = append(tb.wills, willCall{user, clientID, strings.Clone(topic)})
			tb.mu.Unlock()
			return o.willCheck(user, clientID, topic)
		},
		LoopbackListener: func(id string) bool {
			tb.mu.Lock()
			tb.loopback = append(tb.loopback, id)
			tb.mu.Unlock()
			return o.loopback
		},
		Observer: tb.obs,
		Limits:   tb.obs,
		Users:    o.users,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tb.hook = h
	quiet := zerolog.Nop()
	e, err := engine.New(engine.DefaultConfig(), engine.Options{Auth: h, ACL: tb.acl, Lifecycle: tb.acl, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tcfg := transport.DefaultConfig()
	tcfg.Listeners = []listen.Config{{Name: testListenerID, Kind: listen.KindTCP, Address: "127.0.0.1:0"}}
	tcfg.Workers, tcfg.HandshakeWorkers = 4, 4
	tr, err := transport.New(tcfg, listen.NewGuard(listen.DefaultLimits(), nil, quiet), e, quiet)
	if err != nil {
		t.Fatal(err)
	}
	tb.addr = tr.Addr(testListenerID).String()
	tr.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.Close(ctx)
		_ = tr.Close(ctx)
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	return tb
}

func (tb *testBroker) willCalls() []willCall {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]willCall(nil), tb.wills...)
}

// lastReason returns the last refusal reason. The hook reports a refusal
// before it sends the CONNACK, so once the client has its CONNACK the reason
// is recorded.
func (tb *testBroker) lastReason() string {
	r := tb.obs.all()
	if len(r) == 0 {
		return ""
	}
	return r[len(r)-1]
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, what, cond)
}

// conn5 describes an MQTT 5 CONNECT.
type conn5 struct {
	clientID  string
	username  *string // nil: no username flag
	password  *string // nil: no password flag
	willTopic string
	from      string // source IP address to dial from ("": any)
}

func str(s string) *string { return &s }

// connect5 connects with paho.golang (MQTT 5) and returns the CONNACK reason
// code (0 on success, after which it disconnects cleanly).
func connect5(t *testing.T, tb *testBroker, c conn5) byte {
	t.Helper()
	var d net.Dialer
	if c.from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(c.from)}
	}
	nc, err := d.Dial("tcp", tb.addr)
	if err != nil {
		t.Fatal(err)
	}
	cli := paho.NewClient(paho.ClientConfig{Conn: nc, PacketTimeout: 10 * time.Second})
	cp := &paho.Connect{ClientID: c.clientID, KeepAlive: 30, CleanStart: true}
	if c.username != nil {
		cp.UsernameFlag, cp.Username = true, *c.username
	}
	if c.password != nil {
		cp.PasswordFlag, cp.Password = true, []byte(*c.password)
	}
	if c.willTopic != "" {
		cp.WillMessage = &paho.WillMessage{Topic: c.willTopic, Payload: []byte("gone")}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ca, err := cli.Connect(ctx, cp)
	if ca == nil {
		_ = nc.Close()
		t.Fatalf("connect %q: no CONNACK: %v", c.clientID, err)
	}
	if ca.ReasonCode == 0 {
		if err != nil {
			t.Fatalf("connect %q: %v", c.clientID, err)
		}
		if err := cli.Disconnect(&paho.Disconnect{}); err != nil {
			t.Fatalf("disconnect: %v", err)
		}
	}
	return ca.ReasonCode
}

// conn3 describes an MQTT 3.1.1 CONNECT (paho.mqtt.golang sends a password
// only together with a username).
type conn3 struct {
	clientID, username, password, willTopic string
}

// connect3 connects with paho.mqtt.golang (MQTT 3.1.1) and returns the
// Connect error (nil on success, after which it disconnects).
func connect3(t *testing.T, tb *testBroker, c conn3) error {
	t.Helper()
	o := pahov3.NewClientOptions().
		AddBroker("tcp://" + tb.addr).
		SetClientID(c.clientID).
		SetProtocolVersion(4).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(10 * time.Second)
	if c.username != "" {
		o.SetUsername(c.username)
	}
	if c.password != "" {
		o.SetPassword(c.password)
	}
	if c.willTopic != "" {
		o.SetWill(c.willTopic, "gone", 0, false)
	}
	cli := pahov3.NewClient(o)
	tok := cli.Connect()
	if !tok.WaitTimeout(15 * time.Second) {
		t.Fatalf("connect %q: timeout", c.clientID)
	}
	if err := tok.Error(); err != nil {
		return err
	}
	cli.Disconnect(0)
	return nil
}

// expect5 checks an MQTT 5 outcome: code and (for refusals) reason; for
// success, the identity the broker holds for the client.
func expect5(t *testing.T, tb *testBroker, c conn5, wantCode byte, wantReason, wantUser string) {
	t.Helper()
	before := len(tb.obs.all())
	got := connect5(t, tb, c)
	if got != wantCode {
		t.Fatalf("%s: CONNACK 0x%02x, want 0x%02x (last reason %q)", c.clientID, got, wantCode, tb.lastReason())
	}
	if wantCode != 0 {
		if wantReason != "" {
			if r := tb.obs.all(); len(r) != before+1 || r[len(r)-1] != wantReason {
				t.Fatalf("%s: reasons %v, want one more: %q", c.clientID, r[before:], wantReason)
			}
		}
		if _, ok := tb.acl.user(c.clientID); ok {
			t.Fatalf("%s: refused client got a session", c.clientID)
		}
		return
	}
	if n := len(tb.obs.all()); n != before {
		t.Fatalf("%s: accepted client reported a refusal", c.clientID)
	}
	u, ok := tb.acl.user(c.clientID)
	if !ok || u != wantUser {
		t.Fatalf("%s: broker identity %q (session %v), want %q", c.clientID, u, ok, wantUser)
	}
}

// expect3 checks an MQTT 3.1.1 outcome.
func expect3(t *testing.T, tb *testBroker, c conn3, wantErr error, wantReason, wantUser string) {
	t.Helper()
	err := connect3(t, tb, c)
	if wantErr == nil {
		if err != nil {
			t.Fatalf("%s: %v (last reason %q)", c.clientID, err, tb.lastReason())
		}
		if u, ok := tb.acl.user(c.clientID); !ok || u != wantUser {
			t.Fatalf("%s: broker identity %q (session %v), want %q", c.clientID, u, ok, wantUser)
		}
		return
	}
	if !errors.Is(err, wantErr) {
		t.Fatalf("%s: err %v, want %v (last reason %q)", c.clientID, err, wantErr, tb.lastReason())
	}
	if wantReason != "" && tb.lastReason() != wantReason {
		t.Fatalf("%s: reason %q, want %q", c.clientID, tb.lastReason(), wantReason)
	}
}

// v3 CONNACK return codes as paho.mqtt.golang reports them.
var (
	v3BadCredentials = pahov3packets.ErrorRefusedBadUsernameOrPassword // return code 4
	v3NotAuthorized  = pahov3packets.ErrorRefusedNotAuthorised         // return code 5
)

// passwordConfig returns a Config with a password file of users, and the
// file's path.
func passwordConfig(t *testing.T, users map[string]string) (Config, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "passwd")
	writePasswordFile(t, path, users)
	cfg := DefaultConfig()
	cfg.PasswordFile = path
	cfg.BcryptCost = testCost
	return cfg, path
}
