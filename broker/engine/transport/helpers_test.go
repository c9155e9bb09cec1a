package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker/listen"
)

// errDisconnect is the echo handler's close cause for a client DISCONNECT.
var errDisconnect = errors.New("client disconnect")

// echoHandler is a tiny protocol layer: CONNECT -> CONNACK (v3 or v5), PINGREQ
// -> PINGRESP, PUBLISH -> forwarded raw to every conn (fan-out test), DISCONNECT
// -> close. It records what it saw.
type echoHandler struct {
	t         *testing.T
	readTO    time.Duration // SetReadTimeout after CONNECT; 0: none
	tooLarge  []byte        // queued on Malformed
	pauseMax  time.Duration // > 0: pause a publisher on a full subscriber
	refused   int           // fan-out Queue results Refused
	pauses    int           // Pause calls
	maxPend   int           // the largest PendingBytes seen after a fan-out Queue
	publishes int
	mu        sync.Mutex
	conns     map[*Conn]bool
	opened    int
	closed    chan closedEvent
	malformed []error
	packets   []byte // packet types, in order
}

type closedEvent struct {
	c     *Conn
	cause error
}

func newEcho(t *testing.T) *echoHandler {
	return &echoHandler{t: t, conns: map[*Conn]bool{}, closed: make(chan closedEvent, 64)}
}

func (h *echoHandler) Open(c *Conn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns[c] {
		h.t.Errorf("Open twice for %v", c.Remote())
	}
	h.conns[c] = true
	h.opened++
	return nil
}

func (h *echoHandler) Packet(b *Batch, c *Conn, fh packets.FixedHeader, body []byte) error {
	h.mu.Lock()
	h.packets = append(h.packets, fh.Type)
	h.mu.Unlock()
	switch fh.Type {
	case packets.Connect:
		v := byte(4)
		if len(body) >= 7 {
			v = body[6]
		}
		if v == 5 {
			c.Queue(b, []byte{0x20, 3, 0, 0, 0})
		} else {
			c.Queue(b, []byte{0x20, 2, 0, 0})
		}
		if h.readTO > 0 {
			c.SetReadTimeout(h.readTO)
		}
	case packets.Pingreq:
		c.Queue(b, []byte{0xd0, 0})
	case packets.Publish:
		raw := append(encodeHeader(fh), body...)
		for _, o := range h.others(c) {
			r := o.Queue(b, raw)
			pend := o.PendingBytes()
			h.mu.Lock()
			h.publishes++
			h.maxPend = max(h.maxPend, pend)
			if r == Refused {
				h.refused++
			}
			if h.pauseMax > 0 && (r == QueuedFull || r == Refused) {
				h.pauses++
				c.Pause(b, o.DrainSignal(), h.pauseMax)
			}
			h.mu.Unlock()
		}
	case packets.Disconnect:
		return errDisconnect
	}
	return nil
}

func (h *echoHandler) others(c *Conn) []*Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*Conn
	for o := range h.conns {
		if o != c {
			out = append(out, o)
		}
	}
	return out
}

func (h *echoHandler) Malformed(b *Batch, c *Conn, err error) {
	h.mu.Lock()
	h.malformed = append(h.malformed, err)
	h.mu.Unlock()
	if h.tooLarge != nil {
		c.Queue(b, h.tooLarge)
	}
}

func (h *echoHandler) Closed(c *Conn, cause error) {
	h.mu.Lock()
	if !h.conns[c] {
		h.t.Errorf("Closed for a conn not open (or twice): %v", cause)
	}
	delete(h.conns, c)
	h.mu.Unlock()
	h.closed <- closedEvent{c, cause}
}

// waitClosed returns the next Closed event.
func (h *echoHandler) waitClosed(t *testing.T) closedEvent {
	t.Helper()
	select {
	case ev := <-h.closed:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no Closed within 5s")
	}
	return closedEvent{}
}

// conn returns the only open connection, polling until there is one.
func (h *echoHandler) conn(t *testing.T) *Conn {
	t.Helper()
	var c *Conn
	waitFor(t, "a connection opened", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for o := range h.conns {
			c = o
		}
		return len(h.conns) == 1
	})
	return c
}

func encodeHeader(fh packets.FixedHeader) []byte {
	b := []byte{fh.Type<<4 | fh.Qos<<1}
	if fh.Dup {
		b[0] |= 8
	}
	if fh.Retain {
		b[0] |= 1
	}
	return appendRemaining(b, fh.Remaining)
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// testConfig returns a config with one tcp listener on 127.0.0.1:0. The
// poller is IMQTT_TRANSPORT_POLLER's ("" = the default, epoll on Linux): run
// the suite with IMQTT_TRANSPORT_POLLER=goroutine for the reader goroutines.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Poller = os.Getenv("IMQTT_TRANSPORT_POLLER")
	cfg.Listeners = []listen.Config{{Name: "tcp", Kind: listen.KindTCP, Address: "127.0.0.1:0"}}
	cfg.Workers = 4
	cfg.HandshakeWorkers = 2
	return cfg
}

// newTestServer starts a server with h; cleanup closes it and checks that the
// goroutine count returns to where it was before.
func newTestServer(t *testing.T, cfg Config, h Handler) *Server {
	t.Helper()
	return newTestServerGuard(t, cfg, h, listen.DefaultLimits())
}

func newTestServerGuard(t *testing.T, cfg Config, h Handler, lim listen.Limits) *Server {
	t.Helper()
	return newTestServerObs(t, cfg, h, lim, nil)
}

// newTestServerObs is newTestServerGuard with a Guard Observer (may be nil).
func newTestServerObs(t *testing.T, cfg Config, h Handler, lim listen.Limits, obs listen.Observer) *Server {
	t.Helper()
	base := runtime.NumGoroutine()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	g := listen.NewGuard(lim, obs, log)
	s, err := New(cfg, g, h, log)
	if err != nil {
		g.Close()
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		g.Close()
		if g.Open() != 0 {
			t.Errorf("guard still counts %d open sockets", g.Open())
		}
		waitGoroutines(t, base)
	})
	return s
}

// waitGoroutines polls until the goroutine count is back at base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines: %d, baseline %d\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// dial connects to the server's listener.
func dial(t *testing.T, s *Server, listener string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr(listener).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return nc
}

// connectPacket returns a minimal CONNECT for protocol level v (4 or 5).
func connectPacket(v byte, keepalive uint16, id string) []byte {
	var body []byte
	body = append(body, 0, 4, 'M', 'Q', 'T', 'T', v, 0x02, byte(keepalive>>8), byte(keepalive))
	if v == 5 {
		body = append(body, 0) // no properties
	}
	body = append(body, byte(len(id)>>8), byte(len(id)))
	body = append(body, id...)
	return append(appendRemaining([]byte{0x10}, len(body)), body...)
}

// readN reads exactly n bytes within 5 s.
func readN(t *testing.T, nc net.Conn, n int) []byte {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(nc, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

// expectEOF reads until EOF (or a reset) within 5 s, failing on other data.
func expectEOF(t *testing.T, nc net.Conn) {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 64)
	n, err := nc.Read(b)
	if n > 0 {
		t.Fatalf("read %x, want EOF", b[:n])
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("no EOF within 5s")
	}
	if err == nil {
		t.Fatal("read returned no error")
	}
}

// dialSlow connects with a small receive buffer set before the handshake (a
// buffer shrunk after it stalls loopback TCP for hundreds of milliseconds).
func dialSlow(t *testing.T, s *Server, listener string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	nc, err := d.Dial("tcp", s.Addr(listener).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return nc
}

// countObs is a listen.Observer that counts everything the Guard reports.
type countObs struct {
	mu         sync.Mutex
	accepted   map[string]int
	rejected   map[string]int // by reason
	acceptErrs int
	lastErr    error
	panics     map[string]int
}

func newCountObs() *countObs {
	return &countObs{accepted: map[string]int{}, rejected: map[string]int{}, panics: map[string]int{}}
}

func (o *countObs) Accepted(l string) { o.mu.Lock(); o.accepted[l]++; o.mu.Unlock() }
func (o *countObs) Panic(l string)    { o.mu.Lock(); o.panics[l]++; o.mu.Unlock() }
func (o *countObs) Rejected(_, reason string) {
	o.mu.Lock()
	o.rejected[reason]++
	o.mu.Unlock()
}

func (o *countObs) AcceptError(_ string, err error) {
	o.mu.Lock()
	o.acceptErrs++
	o.lastErr = err
	o.mu.Unlock()
}

func (o *countObs) acceptedOn(l string) int { o.mu.Lock(); defer o.mu.Unlock(); return o.accepted[l] }
func (o *countObs) panicsOn(l string) int   { o.mu.Lock(); defer o.mu.Unlock(); return o.panics[l] }
func (o *countObs) rejectedFor(r string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.rejected[r]
}

func (o *countObs) acceptErrors() (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.acceptErrs, o.lastErr
}

// connackCode writes connect to nc and returns the CONNACK's code byte (the v5
// reason code or the 3.1.1 return code), or -1 when the server closed the
// socket without one.
func connackCode(t *testing.T, nc net.Conn, connect []byte) int {
	t.Helper()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	defer func() { _ = nc.SetDeadline(time.Time{}) }()
	if _, err := nc.Write(connect); err != nil {
		return -1
	}
	hdr := make([]byte, 4)
	n, err := io.ReadFull(nc, hdr)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("neither a CONNACK nor a close within 5s")
	}
	if n == 0 {
		return -1
	}
	if err != nil || hdr[0] != 0x20 {
		t.Fatalf("connack % x: %v", hdr[:n], err)
	}
	return int(hdr[3])
}
