package imqtt_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/imqtt/imqtt/internal/testkit"
	"github.com/imqtt/imqtt/sdk/go/imqtt"
)

// imqttdBin is the imqttd binary TestMain builds for every test here.
var imqttdBin string

func TestMain(m *testing.M) { testkit.Main(m, false, &imqttdBin) }

// testUsers are the password users of the test nodes (password user+"-pw").
var testUsers = []string{"alice", "bob", "carol", "dave", "root", "bot"}

// startNode starts an IM node with testUsers; root is an IM admin.
func startNode(t *testing.T) *testkit.Imqttd {
	t.Helper()
	return testkit.StartIM(t, imqttdBin, testUsers, "im:\n  admins: [root]\n")
}

// protocols are the MQTT versions the scenarios run on.
var protocols = []int{5, 4}

// recorder collects what a Client's handlers get.
type recorder struct {
	mu       sync.Mutex
	msgs     []imqtt.Message
	acks     []imqtt.Ack
	receipts []imqtt.Receipt
	presence []imqtt.Presence
	conns    []imqtt.Connection
	errs     []error
	prefs    []imqtt.Prefs
	profiles []imqtt.Profile
	notes    []imqtt.Notification
}

// config returns cfg with r's handlers set.
func (r *recorder) config(cfg imqtt.Config) imqtt.Config {
	cfg.OnMessage = func(m imqtt.Message) { r.mu.Lock(); r.msgs = append(r.msgs, m); r.mu.Unlock() }
	cfg.OnAck = func(a imqtt.Ack) { r.mu.Lock(); r.acks = append(r.acks, a); r.mu.Unlock() }
	cfg.OnReceipt = func(v imqtt.Receipt) { r.mu.Lock(); r.receipts = append(r.receipts, v); r.mu.Unlock() }
	cfg.OnPresence = func(v imqtt.Presence) { r.mu.Lock(); r.presence = append(r.presence, v); r.mu.Unlock() }
	cfg.OnConnection = func(v imqtt.Connection) { r.mu.Lock(); r.conns = append(r.conns, v); r.mu.Unlock() }
	cfg.OnError = func(err error) { r.mu.Lock(); r.errs = append(r.errs, err); r.mu.Unlock() }
	cfg.OnPrefs = func(v imqtt.Prefs) { r.mu.Lock(); r.prefs = append(r.prefs, v); r.mu.Unlock() }
	cfg.OnProfile = func(v imqtt.Profile) { r.mu.Lock(); r.profiles = append(r.profiles, v); r.mu.Unlock() }
	cfg.OnNotify = func(v imqtt.Notification) { r.mu.Lock(); r.notes = append(r.notes, v); r.mu.Unlock() }
	return cfg
}

// messages returns a copy of the messages so far.
func (r *recorder) messages() []imqtt.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// waitMessages waits until n messages arrived and returns them.
func (r *recorder) waitMessages(t *testing.T, n int) []imqtt.Message {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, fmt.Sprintf("%d messages", n), func() bool { return len(r.messages()) >= n })
	return r.messages()
}

// baseConfig is the Config of user's device on node d (fast reconnects).
func baseConfig(d *testkit.Imqttd, user string, proto int) imqtt.Config {
	return imqtt.Config{
		URL: "mqtt://" + d.Addr("tcp"), User: user, Password: user + "-pw", Protocol: proto,
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 500 * time.Millisecond, Timeout: 10 * time.Second,
	}
}

// connect connects cfg and closes the Client at cleanup.
func connect(t *testing.T, cfg imqtt.Config) *imqtt.Client {
	t.Helper()
	c, err := imqtt.Connect(ctx(t), cfg)
	if err != nil {
		t.Fatalf("connect %s (MQTT %d): %v", cfg.User, cfg.Protocol, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ctx is a context for one call of a test (30 s).
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// direct is the conversation id of a and b.
func direct(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "d:" + a + ":" + b
}

// waitFor waits for a message match accepts and returns it.
func (r *recorder) waitFor(t *testing.T, what string, match func(imqtt.Message) bool) imqtt.Message {
	t.Helper()
	var got imqtt.Message
	testkit.Eventually(t, 10*time.Second, what, func() bool {
		for _, m := range r.messages() {
			if match(m) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// waitEvent waits until match accepts one of the events that get (called
// under r.mu) returns, and returns it.
func waitEvent[T any](t *testing.T, r *recorder, what string, get func() []T, match func(T) bool) T {
	t.Helper()
	var got T
	testkit.Eventually(t, 10*time.Second, what, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, v := range get() {
			if match(v) {
				got = v
				return true
			}
		}
		return false
	})
	return got
}
