package listen

import (
	"bufio"
	"context"
	"net"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.golang/paho"
)

// panicRecorder records OnPanic calls.
type panicRecorder struct {
	mu    sync.Mutex
	conns []net.Conn
	vals  []any
}

func (p *panicRecorder) onPanic(_ string, c net.Conn, v any) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.vals = append(p.vals, v)
	p.mu.Unlock()
}

func (p *panicRecorder) calls() ([]net.Conn, []any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]net.Conn(nil), p.conns...), append([]any(nil), p.vals...)
}

// TestMochi501PanicContained sends mochi issue #501's truncated MQTT 5 SUBSCRIBE
// (packet id 1, no properties, filter "a", no options byte), which makes
// mochi v2.7.9 index past the end of the packet in SubscribeDecode.
func TestMochi501PanicContained(t *testing.T) {
	rec := new(panicRecorder)
	b := newTestBroker(t, testLimits(), []Config{tcpConfig(), wsConfig()}, []Option{WithOnPanic(rec.onPanic)})

	for i, kind := range []string{KindTCP, KindWS} {
		c := mustDial(t, kind, b.addr(kind), nil)
		rawConnect(t, c, connectV5("victim-"+kind))
		if _, err := c.Write([]byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61}); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c)
		for {
			if _, _, err := readPacket(r); err != nil {
				if isTimeout(err) {
					t.Fatalf("%s: connection not closed after the panic", kind)
				}
				break
			}
		}
		eventually(t, 10*time.Second, "panic counted and OnPanic called", func() bool {
			conns, _ := rec.calls()
			return b.obs.panicsFor(kind) == 1 && len(conns) == i+1
		})
		conns, vals := rec.calls()
		if len(conns) != i+1 {
			t.Fatalf("OnPanic called %d times, want %d", len(conns), i+1)
		}
		if got, want := conns[i].RemoteAddr().String(), c.LocalAddr().String(); kind == KindTCP && got != want {
			t.Fatalf("OnPanic conn remote %s, want the client %s", got, want)
		}
		if _, ok := conns[i].(*conn); !ok {
			t.Fatalf("OnPanic got %T, want the conn given to mochi", conns[i])
		}
		if vals[i] == nil {
			t.Fatal("OnPanic got no panic value")
		}
	}

	// The node is alive: a fresh client does a full round trip.
	msgs := make(chan received, 1)
	cli := v5Client(t, mustDial(t, KindTCP, b.addr("tcp"), nil), "survivor", msgs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "alive", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Publish(ctx, &paho.Publish{Topic: "alive", QoS: 1, Payload: []byte("yes")}); err != nil {
		t.Fatal(err)
	}
	expectMessages(t, msgs, map[string]received{"alive": {"alive", "yes", 1}})
}

// TestEstablishPanicContained runs a Listener without mochi, with an EstablishFn
// that panics, and an OnPanic callback that panics too.
func TestEstablishPanicContained(t *testing.T) {
	obs := newCountingObserver()
	log := testLogger(t)
	g := NewGuard(testLimits(), obs, log)
	defer g.Close()
	rec := new(panicRecorder)
	l, err := New(tcpConfig(), g, log, WithOnPanic(func(id string, c net.Conn, v any) {
		rec.onPanic(id, c, v)
		panic("the callback fails too")
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Init(nil); err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		l.Serve(func(id string, c net.Conn) error {
			buf := make([]byte, 1)
			if _, err := c.Read(buf); err != nil {
				return err
			}
			panic("boom " + id)
		})
	}()

	for i := 1; i <= 3; i++ {
		c := mustDial(t, KindTCP, l.Address(), nil)
		if _, err := c.Write([]byte{0x10}); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, c, 10*time.Second)
		eventually(t, 10*time.Second, "panic counted and OnPanic called", func() bool {
			conns, _ := rec.calls()
			return obs.panicsFor("tcp") == i && len(conns) == i
		})
		conns, vals := rec.calls()
		if len(conns) != i || vals[i-1] != "boom tcp" {
			t.Fatalf("OnPanic calls %d, last value %v", len(conns), vals[len(vals)-1])
		}
	}

	closed := false
	l.Close(func(id string) {
		if id != "tcp" || closed {
			t.Errorf("closeClients(%q) called again or with the wrong id", id)
		}
		closed = true
	})
	l.Close(func(string) { t.Error("closeClients called by a second Close") })
	if !closed {
		t.Fatal("closeClients not called")
	}
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Wait(ctx); err != nil {
		t.Fatalf("sessions still running: %v", err)
	}
	if g.Open() != 0 {
		t.Fatalf("guard still counts %d sockets", g.Open())
	}
}
