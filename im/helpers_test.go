package im

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/internal/testkit"
	"github.com/imqtt/imqtt/persist"
)

// recorder is the Deliverer boundary: it records what the service asked to
// publish (the hook publishes the same through mochi).
type recorder struct {
	mu sync.Mutex
	ds []Delivery
}

func (r *recorder) Deliver(d Delivery) error {
	d.Payload = append([]byte(nil), d.Payload...)
	r.mu.Lock()
	r.ds = append(r.ds, d)
	r.mu.Unlock()
	return nil
}

// take returns and forgets everything recorded so far.
func (r *recorder) take() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ds
	r.ds = nil
	return out
}

// on returns the recorded deliveries to topic (without forgetting them).
func (r *recorder) on(topic string) []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Delivery
	for _, d := range r.ds {
		if d.Topic == topic {
			out = append(out, d)
		}
	}
	return out
}

// clock is a settable test clock.
type clock struct{ ms atomic.Int64 }

func (c *clock) Now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *clock) advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }
func newClock() *clock                   { c := &clock{}; c.ms.Store(1_750_000_000_000); return c }
func testLog(t testing.TB) zerolog.Logger {
	return testkit.Logger(t, zerolog.WarnLevel)
}
func benchLog(testing.TB) zerolog.Logger { return zerolog.Nop() }
func bg() context.Context                { return context.Background() }
func dev(user, id string) Client         { return Client{User: user, ClientID: id, V5: true} }
func v3(user, id string) Client          { return Client{User: user, ClientID: id} }
func req(topic, payload string) Request {
	return Request{Topic: topic, Payload: []byte(payload), QoS: 1}
}
func sendTopic(to string) string          { return "im/send/user/" + to }
func groupTopic(g string) string          { return "im/send/group/" + g }
func rpcTopic(method string) string       { return "im/rpc/" + method }
func sendBody(cid, body string) string    { return `{"cid":"` + cid + `","body":"` + body + `"}` }
func mustJSON(t testing.TB, v any) string { b, err := json.Marshal(v); check(t, err); return string(b) }
func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// harness is a real single-voter raft node over a real store in a temp dir,
// with the service on top and a recorder as Deliverer.
type harness struct {
	t     testing.TB
	dir   string
	cfg   Config
	opts  Options
	store *persist.Store
	node  *cluster.Node
	svc   *Service
	rec   *recorder
	clock *clock
}

// newHarness opens everything in a fresh directory; mod may change the config
// and options (Filter, Limiter, Push...) before New.
func newHarness(t testing.TB, mod ...func(*Config, *Options)) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), rec: &recorder{}, clock: newClock()}
	h.cfg = DefaultConfig()
	h.cfg.SweepInterval = 0
	h.opts = Options{NodeID: 7, Deliver: h.rec, Now: h.clock.Now}
	if _, ok := t.(*testing.B); ok {
		h.opts.Log = benchLog(t)
	} else {
		h.opts.Log = testLog(t)
	}
	for _, m := range mod {
		m(&h.cfg, &h.opts)
	}
	h.open()
	t.Cleanup(h.close)
	return h
}

func (h *harness) open() {
	t := h.t
	t.Helper()
	pc := persist.DefaultConfig()
	pc.Dir = h.dir + "/fsm"
	pc.MinFreeBytes = 0
	pc.ValueLogGCInterval = 0
	st, err := persist.Open(pc, h.opts.Log)
	if err != nil {
		t.Fatalf("persist.Open: %v", err)
	}
	cc := cluster.DefaultConfig()
	cc.NodeID = "n1"
	cc.DataDir = h.dir
	cc.BindAddr = "127.0.0.1:0"
	cc.Bootstrap = true
	cc.HeartbeatTimeout = 100 * time.Millisecond
	cc.ElectionTimeout = 100 * time.Millisecond
	cc.LeaderLeaseTimeout = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(bg(), 20*time.Second)
	defer cancel()
	n, err := cluster.Open(ctx, cc, st.StateMachine(), h.opts.Log)
	if err != nil {
		st.Close()
		t.Fatalf("cluster.Open: %v", err)
	}
	if err := n.WaitReady(ctx); err != nil {
		n.Close()
		st.Close()
		t.Fatalf("WaitReady: %v", err)
	}
	opts := h.opts
	opts.Node, opts.Store = n, st
	if w, ok := h.opts.Node.(interface{ wrap(Replicator) }); ok {
		w.wrap(n) // a test wrapper around the real node
		opts.Node = h.opts.Node
	}
	svc, err := New(h.cfg, opts)
	if err != nil {
		n.Close()
		st.Close()
		t.Fatalf("New: %v", err)
	}
	st.SetObserver(svc.Observe) // as the broker does (presence)
	h.store, h.node, h.svc = st, n, svc
}

// close closes service, node and store in that order (idempotent).
func (h *harness) close() {
	if h.svc == nil {
		return
	}
	h.store.SetObserver(nil)
	if err := h.svc.Close(); err != nil {
		h.t.Errorf("service close: %v", err)
	}
	if err := h.node.Close(); err != nil {
		h.t.Errorf("node close: %v", err)
	}
	if err := h.store.Close(); err != nil {
		h.t.Errorf("store close: %v", err)
	}
	h.svc = nil
}

// restart closes everything and opens it again on the same directory.
func (h *harness) restart() {
	h.t.Helper()
	h.close()
	h.open()
}

// handle runs one request and fails the test on an unexpected outcome code.
func (h *harness) handle(c Client, r Request, want byte) Outcome {
	h.t.Helper()
	out := h.svc.Handle(bg(), c, r)
	if out.Code != want {
		h.t.Fatalf("%s %s %s: outcome %#x %q, want %#x", c.User, r.Topic, r.Payload, out.Code, out.Reason, want)
	}
	return out
}

// ackMsg is a decoded ack.
type ackMsg struct {
	OK     bool   `json:"ok"`
	Code   int    `json:"code"`
	Reason string `json:"reason"`
	CID    string `json:"cid"`
	Conv   string `json:"conv"`
	ID     string `json:"id"`
	Seq    uint64 `json:"seq"`
	TS     int64  `json:"ts"`
	Dup    bool   `json:"dup"`
	Topic  string `json:"topic"`
}

// lastAck decodes the newest ack recorded for user.
func (h *harness) lastAck(user string) ackMsg {
	h.t.Helper()
	acks := h.rec.on(userTopic(user, leafAck))
	if len(acks) == 0 {
		h.t.Fatalf("no ack for %s", user)
	}
	var a ackMsg
	if err := json.Unmarshal(acks[len(acks)-1].Payload, &a); err != nil {
		h.t.Fatalf("ack %s: %v", acks[len(acks)-1].Payload, err)
	}
	return a
}

// send sends a direct message and returns the ack.
func (h *harness) send(from, to, cid, body string) ackMsg {
	h.t.Helper()
	h.handle(dev(from, from+"-1"), req(sendTopic(to), sendBody(cid, body)), CodeSuccess)
	return h.lastAck(from)
}

// sendGroup sends a group message and returns the ack.
func (h *harness) sendGroup(from, g, cid, body string) ackMsg {
	h.t.Helper()
	h.handle(dev(from, from+"-1"), req(groupTopic(g), sendBody(cid, body)), CodeSuccess)
	return h.lastAck(from)
}

// rpc calls a method (MQTT 5 style, default reply topic), expects code want
// and returns the decoded response.
func (h *harness) rpc(user, method string, params any, want byte) map[string]any {
	h.t.Helper()
	h.handle(dev(user, user+"-1"), Request{Topic: rpcTopic(method), Payload: []byte(mustJSON(h.t, params)), QoS: 1}, want)
	rs := h.rec.on(userTopic(user, leafRPC))
	if len(rs) == 0 {
		h.t.Fatalf("no rpc response for %s", user)
	}
	var m map[string]any
	if err := json.Unmarshal(rs[len(rs)-1].Payload, &m); err != nil {
		h.t.Fatalf("rpc response %s: %v", rs[len(rs)-1].Payload, err)
	}
	if m["method"] != method || (m["ok"] == true) != (want == CodeSuccess) || int(m["code"].(float64)) != int(want) {
		h.t.Fatalf("rpc %s response %s", method, rs[len(rs)-1].Payload)
	}
	return m
}

// envs decodes the envelopes recorded on topic.
func (h *harness) envs(topic string) []Envelope {
	h.t.Helper()
	var out []Envelope
	for _, d := range h.rec.on(topic) {
		e, err := DecodeEnvelope(d.Payload)
		if err != nil {
			h.t.Fatalf("envelope on %s: %v: %s", topic, err, d.Payload)
		}
		out = append(out, e)
	}
	return out
}

// msgsOf decodes a []any of envelopes from an rpc response.
func msgsOf(t testing.TB, v any) []Envelope {
	t.Helper()
	list, _ := v.([]any)
	out := make([]Envelope, 0, len(list))
	for _, x := range list {
		b, _ := json.Marshal(x)
		e, err := DecodeEnvelope(b)
		if err != nil {
			t.Fatalf("envelope %s: %v", b, err)
		}
		out = append(out, e)
	}
	return out
}

func seqs(es []Envelope) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

// eventually polls cond until it is true or the deadline passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, d, what, cond)
}

func decodeAck(t testing.TB, b []byte) ackMsg {
	t.Helper()
	var a ackMsg
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("ack %s: %v", b, err)
	}
	return a
}

// write applies ops through the harness node (what another node's service
// would write).
func (h *harness) write(t *testing.T, ops ...persist.Op) {
	t.Helper()
	cmd, err := persist.EncodeOps(ops)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg(), 10*time.Second)
	defer cancel()
	if _, err := h.node.Apply(ctx, cmd); err != nil {
		t.Fatal(err)
	}
}
