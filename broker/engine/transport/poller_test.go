//go:build linux

package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// epollConfig is testConfig with the epoll poller, whatever the environment.
func epollConfig() Config {
	cfg := testConfig()
	cfg.Poller = PollerEpoll
	return cfg
}

// dialConnected dials, sends a CONNECT and reads the CONNACK.
func dialConnected(t *testing.T, s *Server, id string) net.Conn {
	t.Helper()
	nc := dial(t, s, "tcp")
	mustWrite(t, nc, connectPacket(4, 0, id))
	if ack := readN(t, nc, 4); ack[0] != 0x20 {
		t.Fatalf("connack % x", ack)
	}
	return nc
}

// TestPollerIdleHoldsNoGoroutine: 1000 idle connections on the epoll path add
// no goroutine (the reader goroutine path adds one each); each one still
// answers a PINGREQ; Server.Close with them idle returns, closes every one with
// ErrServerClosed, and leaves no goroutine and no Guard slot (the cleanup).
func TestPollerIdleHoldsNoGoroutine(t *testing.T) {
	const n = 1000
	h := newEcho(t)
	h.closed = make(chan closedEvent, n)
	base := runtime.NumGoroutine()
	s := newTestServer(t, epollConfig(), h)
	started := runtime.NumGoroutine() // + workers, pollers, wheel, accept loop
	ncs := make([]net.Conn, n)
	for i := range ncs {
		ncs[i] = dialConnected(t, s, fmt.Sprint("idle-", i))
	}
	// Goroutines still running a connection's last step or a hand-off end
	// within moments; 1000 idle connections must not hold 1000.
	const slack = 20
	waitFor(t, "the goroutine count back near the started server's", func() bool {
		return runtime.NumGoroutine() <= started+slack
	})
	t.Logf("goroutines: %d before New, %d after Start, %d with %d idle connections",
		base, started, runtime.NumGoroutine(), n)
	for _, nc := range ncs { // every armed connection is still served
		mustWrite(t, nc, []byte{0xc0, 0})
	}
	for _, nc := range ncs {
		if r := readN(t, nc, 2); r[0] != 0xd0 {
			t.Fatalf("pingresp % x", r)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t0 := time.Now()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("Close with %d idle connections: %v", n, time.Since(t0))
	for range n {
		if ev := h.waitClosed(t); !errors.Is(ev.cause, ErrServerClosed) {
			t.Fatalf("cause %v, want ErrServerClosed", ev.cause)
		}
	}
	for _, nc := range ncs {
		expectEOF(t, nc)
	}
}

// TestPollerDeadlineWhileRunning: a connect deadline that passes while the
// connection is on a worker (a partial CONNECT keeps arriving byte by byte,
// each batch ends without a packet) still closes it with ErrConnectTimeout:
// the owner checks the deadline when it arms.
func TestPollerDeadlineWhileRunning(t *testing.T) {
	h := newEcho(t)
	cfg := epollConfig()
	cfg.ConnectTimeout = 150 * time.Millisecond
	s := newTestServer(t, cfg, h)
	nc := dial(t, s, "tcp")
	pkt := connectPacket(4, 0, "a-long-client-identifier-that-trickles-in-slowly")
	start := time.Now()
	for _, b := range pkt[:len(pkt)-1] {
		if _, err := nc.Write([]byte{b}); err != nil {
			break // closed: the timeout fired
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ev := h.waitClosed(t); !errors.Is(ev.cause, ErrConnectTimeout) {
		t.Fatalf("cause %v, want ErrConnectTimeout", ev.cause)
	}
	if d := time.Since(start); d < cfg.ConnectTimeout {
		t.Fatalf("closed after %v, before the connect timeout", d)
	}
	expectEOF(t, nc)
}

// TestPollerCloseRaces races every way a polled connection ends against its
// readiness, on tcp and tls: server-side Close from another goroutine while
// the client keeps sending, keepalive and connect deadlines from the wheel,
// client resets and EOFs, a DISCONNECT. Every opened connection must get
// exactly one Closed (the echo handler fails the test on a second), none may
// be lost (all closed at the end), and the cleanup finds no goroutine and no
// Guard slot left.
func TestPollerCloseRaces(t *testing.T) {
	t.Run("tcp", func(t *testing.T) { closeRaces(t, "tcp", 300) })
	t.Run("tls", func(t *testing.T) { closeRaces(t, "tls", 100) })
}

func closeRaces(t *testing.T, listener string, n int) {
	h := newEcho(t)
	h.closed = make(chan closedEvent, n)
	cfg, ct := tlsTestConfig(t)
	cfg.Poller = PollerEpoll
	h.readTO = 40 * time.Millisecond
	cfg.ConnectTimeout = 250 * time.Millisecond
	if listener == "tls" { // the handshakes (-race, a loaded machine) are inside the connect timeout
		h.readTO, cfg.ConnectTimeout, cfg.HandshakeWorkers = 100*time.Millisecond, 2*time.Second, 4
	}
	cfg.CloseLinger = 50 * time.Millisecond
	s := newTestServer(t, cfg, h)
	addr := s.Addr(listener).String()
	dialRaw := func() (net.Conn, *net.TCPConn, error) {
		raw, err := net.Dial("tcp", addr)
		if err != nil || listener == "tcp" {
			return raw, raw.(*net.TCPConn), err
		}
		tc := tls.Client(raw, ct)
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		return tc, raw.(*net.TCPConn), nil // the handshake runs on the first write
	}

	var clients sync.WaitGroup
	var dialed atomic.Int64
	stop := make(chan struct{})
	for i := range n {
		clients.Add(1)
		go func() {
			defer clients.Done()
			nc, raw, err := dialRaw()
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			defer nc.Close()
			dialed.Add(1)
			_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
			r := rand.New(rand.NewPCG(uint64(i), 7))
			// What the client does and whether the closer may close it
			// follow from its port (Linux picks even ones), which the
			// closer sees too: every kind has connections the closer spares.
			k := raw.LocalAddr().(*net.TCPAddr).Port / 2 % 10
			kind := k % 5
			switch kind {
			case 0: // silent: the connect deadline
				_, _ = io.Copy(io.Discard, nc)
				return
			case 1: // half a CONNECT: the connect deadline while bytes are held
				_, _ = nc.Write(connectPacket(4, 0, "half")[:5])
				_, _ = io.Copy(io.Discard, nc)
				return
			}
			if _, err := nc.Write(connectPacket(4, 0, fmt.Sprint("c", i))); err != nil {
				return
			}
			pings := r.IntN(40)
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				if j == pings {
					switch kind {
					case 2: // reset
						_ = raw.SetLinger(0)
						return
					case 3: // DISCONNECT
						_, _ = nc.Write([]byte{0xe0, 0})
						_, _ = io.Copy(io.Discard, nc)
						return
					}
					// 4: go silent: the keepalive (or the server-side closer)
					_, _ = io.Copy(io.Discard, nc)
					return
				}
				if _, err := nc.Write([]byte{0xc0, 0, 0xc0, 0}); err != nil {
					return
				}
				if r.IntN(3) == 0 {
					time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond)
				}
			}
		}()
	}
	// The server-side closer: Close random open connections while their
	// clients send (half of them, by client port: the rest reach their
	// deadlines).
	closerDone := make(chan struct{})
	go func() {
		defer close(closerDone)
		r := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, c := range h.others(nil) {
				if c.Remote().Port()/2%10 >= 5 && r.IntN(8) == 0 {
					c.Close(errors.New("closer"))
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	clientsDone := make(chan struct{})
	go func() { clients.Wait(); close(clientsDone) }()
	select {
	case <-clientsDone:
	case <-time.After(20 * time.Second):
		t.Fatal("clients did not finish")
	}
	close(stop)
	<-closerDone
	// Every socket finished (a tls one whose handshake timed out was never
	// opened; every tcp one was).
	waitFor(t, "every connection closed", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.conns) == 0 && s.guard.Open() == 0 &&
			(listener == "tls" || h.opened == int(dialed.Load()))
	})
	causes := map[string]int{}
	for range h.opened {
		causes[h.waitClosed(t).cause.Error()]++
	}
	t.Logf("%d connections, close causes: %v", h.opened, causes)
	for _, want := range []error{ErrConnectTimeout, ErrKeepalive, errDisconnect} {
		if causes[want.Error()] == 0 {
			t.Errorf("no connection closed with %v", want)
		}
	}
}

// TestPollerConfig: Poller accepts epoll and goroutine, refuses the rest
// naming the field, and "" becomes epoll here (Linux).
func TestPollerConfig(t *testing.T) {
	for _, p := range []string{"", PollerEpoll, PollerGoroutine} {
		cfg := testConfig()
		cfg.Poller = p
		if err := cfg.Validate(); err != nil {
			t.Errorf("Poller %q: %v", p, err)
		}
	}
	cfg := testConfig()
	cfg.Poller = "kqueue"
	if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "poller: kqueue") {
		t.Fatalf("Poller kqueue: %v, want ErrInvalidConfig naming poller", err)
	}
	cfg.Poller = ""
	if got := cfg.withDefaults().Poller; got != PollerEpoll {
		t.Fatalf("default poller %q, want epoll", got)
	}
}
