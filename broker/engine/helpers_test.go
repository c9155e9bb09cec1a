package engine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

// allowAll is the tests' Authenticator and Authorizer: it accepts every
// CONNECT (the identity is the user name) and every access, except topics
// and filters listed in deny.
type allowAll struct {
	mu   sync.Mutex
	deny map[string]bool
}

func (a *allowAll) Authenticate(_ context.Context, r *ext.ConnectRequest) ext.AuthResult {
	return ext.AuthResult{Identity: r.Client.Username}
}

func (a *allowAll) Allow(_ *ext.Client, topic string, _ ext.Access) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.deny[topic]
}

// countObserver counts drops by reason.
type countObserver struct {
	nopObserver
	mu      sync.Mutex
	dropped map[string]int
	limits  map[string]int
}

func (o *countObserver) LimitRefused(limit string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.limits == nil {
		o.limits = map[string]int{}
	}
	o.limits[limit]++
}

// limit returns how many refusals by limit were counted.
func (o *countObserver) limit(name string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.limits[name]
}

func (o *countObserver) MessageDropped(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dropped == nil {
		o.dropped = map[string]int{}
	}
	o.dropped[reason]++
}

type testEngine struct {
	*Engine
	srv  *transport.Server
	addr string
	acl  *allowAll
	obs  *countObserver
	stop func() // closes the engine and the transport (a "restart" in tests)
}

// newTestEngine starts the transport and the engine on 127.0.0.1:0; cleanup
// closes both and checks that the goroutine count returns to its baseline.
// opt may add collaborators (a PublishHandler, a Lifecycle).
func newTestEngine(t testing.TB, mut func(*Config, *transport.Config), opt ...func(*Options)) *testEngine {
	t.Helper()
	return newStoreEngine(t, nil, mut, opt...)
}

// newStoreEngine is newTestEngine with Options.Store (nil: none).
func newStoreEngine(t testing.TB, store ext.Store, mut func(*Config, *transport.Config), opt ...func(*Options)) *testEngine {
	t.Helper()
	base := ours()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	if _, fuzz := t.(*testing.F); fuzz {
		// A fuzz target may not log through f (its writer calls f.Helper).
		log = zerolog.Nop()
	}
	cfg := DefaultConfig()
	cfg.SweepInterval = 50 * time.Millisecond
	tcfg := transport.DefaultConfig()
	tcfg.Listeners = []listen.Config{{Name: "tcp", Kind: listen.KindTCP, Address: "127.0.0.1:0"}}
	tcfg.Workers, tcfg.HandshakeWorkers = 4, 1
	if mut != nil {
		mut(&cfg, &tcfg)
	}
	tcfg.MaxPacketSize = int(cfg.MaxPacketSize) // as the broker wires it (doc.go)
	acl := &allowAll{deny: map[string]bool{}}
	obs := &countObserver{}
	opts := Options{Auth: acl, ACL: acl, Observer: obs, Log: log, Store: store}
	for _, o := range opt {
		o(&opts)
	}
	e, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	g := listen.NewGuard(listen.DefaultLimits(), nil, log)
	srv, err := transport.New(tcfg, g, e, log)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	te := &testEngine{Engine: e, srv: srv, addr: srv.Addr("tcp").String(), acl: acl, obs: obs}
	te.stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Close(ctx); err != nil {
			t.Errorf("engine Close: %v", err)
		}
		if err := srv.Close(ctx); err != nil {
			t.Errorf("transport Close: %v", err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Close(ctx); err != nil {
			t.Errorf("engine Close: %v", err)
		}
		if err := e.Close(ctx); err != nil {
			t.Errorf("second engine Close: %v", err)
		}
		if err := srv.Close(ctx); err != nil {
			t.Errorf("transport Close: %v", err)
		}
		g.Close()
		waitGoroutines(t, base)
	})
	return te
}

func waitGoroutines(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for ours() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines: %d, baseline %d\n%s", ours(), base, buf[:n])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ours counts goroutines, leaving out os/signal's loop, which the fuzzing
// engine starts after the baseline was taken.
func ours() int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return runtime.NumGoroutine() - strings.Count(string(buf[:n]), "os/signal.loop")
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// raw is a byte-level MQTT client built on mochi's codec: the tests see
// exactly what the engine sends.
type raw struct {
	t  *testing.T
	c  net.Conn
	r  *bufio.Reader
	v  byte
	id uint16
}

func dialRaw(t *testing.T, addr string, v byte) *raw {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &raw{t: t, c: c, r: bufio.NewReader(c), v: v}
}

func (r *raw) send(pk packets.Packet) {
	r.t.Helper()
	pk.ProtocolVersion = r.v
	b, err := encodeClient(pk)
	if err != nil {
		r.t.Fatal(err)
	}
	r.write(b)
}

// encodeClient encodes a packet as a client sends it (mochi's codec).
func encodeClient(pk packets.Packet) ([]byte, error) {
	pk.Mods.AllowResponseInfo = true
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		pk.Connect.ProtocolName = []byte("MQTT")
		if pk.ProtocolVersion == 3 {
			pk.Connect.ProtocolName = []byte("MQIsdp")
		}
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Puback:
		err = pk.PubackEncode(&buf)
	case packets.Pubrec:
		err = pk.PubrecEncode(&buf)
	case packets.Pubrel:
		pk.FixedHeader.Qos = 1
		err = pk.PubrelEncode(&buf)
	case packets.Pubcomp:
		err = pk.PubcompEncode(&buf)
	case packets.Subscribe:
		pk.FixedHeader.Qos = 1
		err = pk.SubscribeEncode(&buf)
	case packets.Unsubscribe:
		pk.FixedHeader.Qos = 1
		err = pk.UnsubscribeEncode(&buf)
	case packets.Pingreq:
		err = pk.PingreqEncode(&buf)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&buf)
	}
	return buf.Bytes(), err
}

func (r *raw) write(b []byte) {
	r.t.Helper()
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// recv reads the next packet (5 s deadline).
func (r *raw) recv() packets.Packet {
	r.t.Helper()
	pk, err := r.tryRecv(5 * time.Second)
	if err != nil {
		r.t.Fatalf("recv: %v", err)
	}
	return pk
}

func (r *raw) tryRecv(d time.Duration) (packets.Packet, error) {
	r.c.SetReadDeadline(time.Now().Add(d))
	var pk packets.Packet
	hb, err := r.r.ReadByte()
	if err != nil {
		return pk, err
	}
	if err := pk.FixedHeader.Decode(hb); err != nil {
		return pk, err
	}
	n, _, err := packets.DecodeLength(r.r)
	if err != nil {
		return pk, err
	}
	pk.FixedHeader.Remaining = n
	body := make([]byte, n)
	if _, err := io.ReadFull(r.r, body); err != nil {
		return pk, err
	}
	pk.ProtocolVersion = r.v
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
		pk.Payload = bytes.Clone(pk.Payload)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Pubrec:
		err = pk.PubrecDecode(body)
	case packets.Pubrel:
		err = pk.PubrelDecode(body)
	case packets.Pubcomp:
		err = pk.PubcompDecode(body)
	case packets.Suback:
		err = pk.SubackDecode(body)
		pk.ReasonCodes = bytes.Clone(pk.ReasonCodes)
	case packets.Unsuback:
		err = pk.UnsubackDecode(body)
		pk.ReasonCodes = bytes.Clone(pk.ReasonCodes)
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	}
	return pk, err
}

// expect reads the next packet and checks its type.
func (r *raw) expect(typ byte) packets.Packet {
	r.t.Helper()
	pk := r.recv()
	if pk.FixedHeader.Type != typ {
		r.t.Fatalf("got %s (reason 0x%02x), want %s", packets.PacketNames[pk.FixedHeader.Type], pk.ReasonCode, packets.PacketNames[typ])
	}
	return pk
}

// expectClosed checks that the server closes the connection.
func (r *raw) expectClosed() {
	r.t.Helper()
	for {
		pk, err := r.tryRecv(5 * time.Second)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				r.t.Fatal("connection not closed within 5s")
			}
			return
		}
		r.t.Logf("before close: %s", packets.PacketNames[pk.FixedHeader.Type])
	}
}

// connect sends a CONNECT and returns the CONNACK.
func (r *raw) connect(id string, clean bool, mut func(*packets.Packet)) packets.Packet {
	r.t.Helper()
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}}
	pk.Connect.ClientIdentifier = id
	pk.Connect.Clean = clean
	pk.Connect.Keepalive = 60
	if mut != nil {
		mut(&pk)
	}
	r.send(pk)
	return r.expect(packets.Connack)
}

func (r *raw) nextID() uint16 { r.id++; return r.id }

func (r *raw) subscribe(filter string, qos byte, mut func(*packets.Subscription)) []byte {
	r.t.Helper()
	s := packets.Subscription{Filter: filter, Qos: qos}
	if mut != nil {
		mut(&s)
	}
	r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe}, PacketID: r.nextID(), Filters: packets.Subscriptions{s}})
	return r.expect(packets.Suback).ReasonCodes
}

func (r *raw) publish(topic string, payload string, qos byte, retain bool, mut func(*packets.Packet)) {
	r.t.Helper()
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos, Retain: retain}, TopicName: topic, Payload: []byte(payload)}
	if qos > 0 {
		pk.PacketID = r.nextID()
	}
	if mut != nil {
		mut(&pk)
	}
	r.send(pk)
}

// disconnectAndWait sends DISCONNECT and waits for the server to close: the
// session is detached by then.
func (r *raw) disconnectAndWait() {
	r.t.Helper()
	r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	r.expectClosed()
}
