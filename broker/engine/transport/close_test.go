package transport

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker/listen"
)

// stallPublisher connects a subscriber that does not read and a publisher that
// is paused on it, and returns once the publisher is paused and the
// subscriber's writer is blocked.
func stallPublisher(t *testing.T, s *Server, h *echoHandler) {
	t.Helper()
	sub := dialSlow(t, s, "tcp")
	mustWrite(t, sub, connectPacket(4, 0, "sub"))
	readN(t, sub, 4)
	pub := dial(t, s, "tcp")
	mustWrite(t, pub, connectPacket(4, 0, "pub"))
	readN(t, pub, 4)
	body := append([]byte{0, 1, 't'}, make([]byte, 8<<10)...)
	pkt := append(appendRemaining([]byte{0x30}, len(body)), body...)
	go func() { // ends when the server closes pub
		for {
			if _, err := pub.Write(pkt); err != nil {
				return
			}
		}
	}()
	waitFor(t, "a blocked writer", func() bool {
		for _, c := range h.others(nil) {
			c.wmu.Lock()
			busy := c.wflags&wBusy != 0 && c.out.n >= s.cfg.MaxPendingBytes/2
			c.wmu.Unlock()
			if busy {
				return true
			}
		}
		return false
	})
}

// TestCloseWithPausedAndBusy: Server.Close ends a paused reader and a blocked
// writer (bounded by WriteTimeout), every conn gets ErrServerClosed, and the
// goroutines return to the baseline (cleanup).
func TestCloseWithPausedAndBusy(t *testing.T) {
	h := newEcho(t)
	h.pauseMax = time.Minute
	cfg := testConfig()
	cfg.MaxPendingBytes = 64 << 10
	cfg.WriteTimeout = 300 * time.Millisecond
	s := newTestServer(t, cfg, h)
	stallPublisher(t, s, h)
	start := time.Now()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Close took %v", d)
	}
	for range 2 {
		if ev := h.waitClosed(t); !errors.Is(ev.cause, ErrServerClosed) {
			t.Fatalf("cause %v", ev.cause)
		}
	}
}

// TestCloseContextAborts: when ctx ends before a blocked writer gives up,
// Close closes every socket at once and returns ctx's error; nothing leaks.
func TestCloseContextAborts(t *testing.T) {
	base := runtime.NumGoroutine()
	h := newEcho(t)
	h.pauseMax = time.Minute
	cfg := testConfig()
	cfg.MaxPendingBytes = 64 << 10
	cfg.WriteTimeout = time.Minute
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	g := listen.NewGuard(listen.DefaultLimits(), nil, log)
	s, err := New(cfg, g, h, log)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	stallPublisher(t, s, h)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v, want the deadline", err)
	}
	if err := s.Close(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Close: %v, want the first result", err)
	}
	for range 2 {
		if ev := h.waitClosed(t); !errors.Is(ev.cause, ErrServerClosed) {
			t.Fatalf("cause %v", ev.cause)
		}
	}
	g.Close()
	if g.Open() != 0 {
		t.Fatalf("guard counts %d", g.Open())
	}
	t.Cleanup(func() { waitGoroutines(t, base) })
}

// TestCloseWithoutStart: Close after New (no Start) releases the sockets.
func TestCloseWithoutStart(t *testing.T) {
	base := runtime.NumGoroutine()
	log := zerolog.New(zerolog.NewTestWriter(t))
	g := listen.NewGuard(listen.DefaultLimits(), nil, log)
	defer g.Close()
	s, err := New(testConfig(), g, newEcho(t), log)
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr("tcp").String()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Start() // after Close: no effect
	if s.Addr("nope") != nil {
		t.Fatal("Addr of an unknown listener")
	}
	g.Close()
	waitGoroutines(t, base)
	_ = addr
}
