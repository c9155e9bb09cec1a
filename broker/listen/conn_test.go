package listen

import (
	"bytes"
	"errors"
	"fmt"
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

// chunkConn returns a fixed stream in chunks of the sizes given, then EOF.
type chunkConn struct {
	net.Conn
	data  []byte
	sizes []int
	i     int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(c.sizes[c.i%len(c.sizes)], len(c.data), len(p))
	c.i++
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// TestConnReadHoldsPartialHeaders: with MaxPacketSize set, no Read ends inside
// a fixed header (the bytes are held until it is complete) and the stream
// passes unchanged, whatever the chunking.
func TestConnReadHoldsPartialHeaders(t *testing.T) {
	stream := bytes.Join([][]byte{
		connectV5("hold"),
		{0xc0, 0x00},
		publishQoS1(true, 200),
		publishQoS1(true, 300), // two length bytes
		{0xe0, 0x00},
	}, nil)
	for _, sizes := range [][]int{{1}, {2}, {3, 1}, {5, 7, 1}, {1000}} {
		t.Run(fmt.Sprint(sizes), func(t *testing.T) {
			c := &conn{inner: &chunkConn{data: stream, sizes: sizes}, ps: newPacketStream(1024, 1024)}
			check := newPacketStream(1024, 1024)
			var got []byte
			buf := make([]byte, 64)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if check.feed(buf[:n]) != verdictOK {
						t.Fatal("refused")
					}
					if h := check.partialHeader(); h != 0 {
						t.Fatalf("a read ended %d bytes into a fixed header", h)
					}
					got = append(got, buf[:n]...)
				}
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, stream) {
				t.Fatalf("read % x, want % x", got, stream)
			}
		})
	}
}

// patternConn is an endless stream repeating one packet sequence.
type patternConn struct {
	net.Conn
	pat []byte
	off int
}

func (c *patternConn) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], c.pat[c.off:])
		n += k
		c.off = (c.off + k) % len(c.pat)
	}
	return n, nil
}

// BenchmarkConnReadAfterConnectLimited is Read after CONNECT with
// MaxPacketSize set: 2 KiB reads of 128-byte PUBLISHes, of 2-byte packets (the
// worst case: 1024 headers per read) and of 64 KiB PUBLISHes (bodies skipped).
func BenchmarkConnReadAfterConnectLimited(b *testing.B) {
	for _, tc := range []struct {
		name string
		pat  []byte
	}{
		{"publish128", publishQoS1(true, 128)},
		{"ping2", []byte{0xc0, 0x00}},
		{"publish64k", publishQoS1(true, 64<<10)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := &conn{inner: &patternConn{pat: tc.pat}, ps: newPacketStream(64<<10, 1<<20)}
			c.ps.first, c.ps.levelSeen = false, true // CONNECT done
			buf := make([]byte, 2048)
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := c.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkConnReadAfterConnect(b *testing.B) {
	c := &conn{inner: memConn{}, ps: packetStream{phase: phaseOff}}
	buf := make([]byte, 2048)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}
