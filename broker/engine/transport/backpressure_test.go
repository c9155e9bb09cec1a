package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"
)

// TestPauseOnSlowSubscriber: a subscriber that does not read fills its pending
// bound; the publisher is paused on the subscriber's DrainSignal (not read, no
// worker held) instead of messages being refused; when the subscriber reads,
// the publisher resumes and every message arrives, in order.
func TestPauseOnSlowSubscriber(t *testing.T) {
	h := newEcho(t)
	h.pauseMax = 30 * time.Second
	cfg := testConfig()
	cfg.MaxPendingBytes = 64 << 10
	s := newTestServer(t, cfg, h)

	sub := dialSlow(t, s, "tcp")
	mustWrite(t, sub, connectPacket(4, 0, "sub"))
	readN(t, sub, 4)
	pub := dial(t, s, "tcp")
	mustWrite(t, pub, connectPacket(4, 0, "pub"))
	readN(t, pub, 4)

	const n, size = 4000, 2048 // 8 MB: well above the socket buffers and the bound
	pkt := func(i int) []byte {
		body := make([]byte, 3+size)
		body[0], body[1], body[2] = 0, 1, 't'
		binary.BigEndian.PutUint32(body[3:], uint32(i))
		return append(appendRemaining([]byte{0x30}, len(body)), body...)
	}
	pktLen := len(pkt(0))
	werr := make(chan error, 1)
	go func() { // blocks while the publisher is paused: TCP pushes back
		for i := range n {
			if _, err := pub.Write(pkt(i)); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	waitFor(t, "the publisher paused", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.pauses > 0
	})
	h.mu.Lock()
	if h.publishes >= n {
		t.Errorf("all %d publishes were processed before any pause", h.publishes)
	}
	h.mu.Unlock()

	_ = sub.SetReadDeadline(time.Now().Add(20 * time.Second))
	got := make([]byte, pktLen)
	for i := range n {
		if _, err := io.ReadFull(sub, got); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got, pkt(i)) {
			t.Fatalf("message %d differs (seq %d)", i, binary.BigEndian.Uint32(got[5:]))
		}
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refused != 0 {
		t.Errorf("%d messages refused", h.refused)
	}
	if h.maxPend > cfg.MaxPendingBytes+pktLen {
		t.Errorf("pending reached %d, bound %d", h.maxPend, cfg.MaxPendingBytes)
	}
	t.Logf("%d pauses, max pending %d", h.pauses, h.maxPend)
}

// TestWriteTimeout: a client that never reads is closed with ErrWriteTimeout
// once its writer makes no progress for WriteTimeout; Queue reports the bound.
func TestWriteTimeout(t *testing.T) {
	h := newEcho(t)
	cfg := testConfig()
	cfg.WriteTimeout = 300 * time.Millisecond
	cfg.MaxPendingBytes = 256 << 10
	s := newTestServer(t, cfg, h)
	nc := dialSlow(t, s, "tcp")
	mustWrite(t, nc, connectPacket(4, 0, "slow"))
	readN(t, nc, 4)
	c := h.conn(t)
	chunk := make([]byte, 32<<10)
	full := false
	deadline := time.Now().Add(5 * time.Second)
	for !full && time.Now().Before(deadline) {
		switch r := c.Queue(nil, chunk); r {
		case QueuedFull:
			full = true
		case Refused:
			t.Fatal("refused before QueuedFull")
		case Closed:
			t.Fatalf("closed early")
		}
	}
	if !full {
		t.Fatal("pending never reached the bound")
	}
	if r := c.Queue(nil, chunk); r != Refused && r != Closed {
		t.Fatalf("queue above the bound: %v", r)
	}
	select {
	case <-c.DrainSignal():
		// only if it closed meanwhile
		if !c.closing() {
			t.Fatal("drain signalled while full")
		}
	default:
	}
	ev := h.waitClosed(t)
	if !errors.Is(ev.cause, ErrWriteTimeout) {
		t.Fatalf("cause %v, want ErrWriteTimeout", ev.cause)
	}
	if c.PendingBytes() != 0 {
		t.Fatalf("pending %d after close", c.PendingBytes())
	}
}

// TestDrainSignal: the signal closes when a slow reader catches up.
func TestDrainSignal(t *testing.T) {
	h := newEcho(t)
	cfg := testConfig()
	cfg.MaxPendingBytes = 128 << 10
	s := newTestServer(t, cfg, h)
	nc := dialSlow(t, s, "tcp")
	mustWrite(t, nc, connectPacket(4, 0, "d"))
	readN(t, nc, 4)
	c := h.conn(t)
	chunk := bytes.Repeat([]byte{0xd0, 0}, 8<<10) // PINGRESPs
	total := 0
	for {
		r := c.Queue(nil, chunk)
		if r == Refused || r == Closed {
			t.Fatalf("queue: %v", r)
		}
		total += len(chunk)
		if r == QueuedFull {
			break
		}
	}
	sig := c.DrainSignal()
	select {
	case <-sig:
		t.Fatal("signalled while full")
	default:
	}
	done := make(chan error, 1)
	go func() {
		_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.ReadFull(nc, make([]byte, total))
		done <- err
	}()
	select {
	case <-sig:
	case <-time.After(10 * time.Second):
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("no drain signal, pending %d\n%s", c.PendingBytes(), buf[:n])
	}
	if p := c.PendingBytes(); p >= cfg.MaxPendingBytes/2 {
		t.Fatalf("signalled with %d pending", p)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "writer gone", func() bool { return c.PendingBytes() == 0 })
}
