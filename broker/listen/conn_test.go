package listen

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// startRawListener runs a Listener without mochi; establish gets every conn.
func startRawListener(t *testing.T, lim Limits, establish func(net.Conn) error) (*Listener, *countingObserver) {
	t.Helper()
	obs := newCountingObserver()
	log := testLogger(t)
	g := NewGuard(lim, obs, log)
	l, err := New(tcpConfig(), g, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Init(nil); err != nil {
		t.Fatal(err)
	}
	go l.Serve(func(_ string, c net.Conn) error { return establish(c) })
	t.Cleanup(func() {
		l.Close(func(string) {})
		g.Close()
	})
	return l, obs
}

func TestConnPassesStreamUnchanged(t *testing.T) {
	got := make(chan []byte, 1)
	l, _ := startRawListener(t, testLimits(), func(c net.Conn) error {
		b, err := io.ReadAll(c)
		got <- b
		return err
	})
	want := append(connectV5("stream"), make([]byte, 100_000)...)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := len(connectV5("stream")); i < len(want); i++ {
		want[i] = byte(rng.IntN(256))
	}
	c := mustDial(t, KindTCP, l.Address(), nil)
	for rest := want; len(rest) > 0; {
		n := min(1+rng.IntN(3000), len(rest))
		if _, err := c.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	_ = c.(*net.TCPConn).CloseWrite()
	select {
	case b := <-got:
		if !bytes.Equal(b, want) {
			t.Fatalf("server read %d bytes, want the %d sent, unchanged", len(b), len(want))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not read the stream")
	}
}

// TestMochiDeadlineReplacesConnectTimeout does what mochi does after CONNECT:
// SetDeadline with the keepalive (here none) must replace the connect timeout,
// and a later read timeout is not counted as connect_timeout.
func TestMochiDeadlineReplacesConnectTimeout(t *testing.T) {
	lim := testLimits()
	lim.ConnectTimeout = time.Second
	second := make(chan error, 1)
	l, obs := startRawListener(t, lim, func(c net.Conn) error {
		hdr := make([]byte, 2)
		if _, err := io.ReadFull(c, hdr); err != nil {
			second <- err
			return err
		}
		_ = c.SetDeadline(time.Time{}) // keepalive 0: no deadline
		buf := make([]byte, 1)
		_, err := io.ReadFull(c, buf) // waits for the client, past the connect timeout
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(10 * time.Millisecond))
			_, err = c.Read(buf) // a keepalive timeout: mochi's, not ours
			if isTimeout(err) {
				err = nil
			}
		}
		second <- err
		return err
	})
	c := mustDial(t, KindTCP, l.Address(), nil)
	if _, err := c.Write([]byte{0x10, 0x01}); err != nil {
		t.Fatal(err)
	}
	// Stay silent for twice the connect timeout: the server must not close.
	_ = c.SetReadDeadline(time.Now().Add(2 * lim.ConnectTimeout))
	if _, err := c.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("server closed during the silence: %v", err)
	}
	if _, err := c.Write([]byte{0x00}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-second:
		if err != nil {
			t.Fatalf("server read after SetDeadline: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server never read the second byte")
	}
	if n := obs.rejectedFor(ReasonConnectTimeout); n != 0 {
		t.Fatalf("connect_timeout counted %d times after mochi's deadline", n)
	}
}

func TestConnCloseIdempotent(t *testing.T) {
	done := make(chan error, 1)
	l, _ := startRawListener(t, testLimits(), func(c net.Conn) error {
		err1 := c.Close()
		err2 := c.Close()
		_, rerr := c.Read(make([]byte, 1))
		_, werr := c.Write([]byte{1})
		switch {
		case err1 != nil || err2 != nil:
			done <- errors.Join(err1, err2)
		case !errors.Is(rerr, net.ErrClosed) || !errors.Is(werr, net.ErrClosed):
			done <- errors.Join(errors.New("read/write after close"), rerr, werr)
		default:
			done <- nil
		}
		return nil
	})
	c := mustDial(t, KindTCP, l.Address(), nil)
	expectClosed(t, c, 10*time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "slot released", func() bool { return l.g.Open() == 0 })
}

// memConn is an endless in-memory stream for the Read benchmark.
type memConn struct{ net.Conn }

func (memConn) Read(p []byte) (int, error) { return len(p), nil }

func BenchmarkConnReadAfterConnect(b *testing.B) {
	c := &conn{inner: memConn{}, fpDone: true}
	buf := make([]byte, 2048)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}
