package listen

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/testkit"
)

// allowAll lets every client connect and use every topic.
type allowAll struct{ mqtt.HookBase }

func (h *allowAll) ID() string { return "allow-all" }
func (h *allowAll) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}
func (h *allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }
func (h *allowAll) OnACLCheck(*mqtt.Client, string, bool) bool              { return true }

// countingObserver records what the listeners report.
type countingObserver struct {
	mu        sync.Mutex
	accepted  map[string]int
	acceptErr map[string]int
	lastErr   error
	rejected  map[string]int // by reason
	panics    map[string]int
}

func newCountingObserver() *countingObserver {
	return &countingObserver{
		accepted:  map[string]int{},
		acceptErr: map[string]int{},
		rejected:  map[string]int{},
		panics:    map[string]int{},
	}
}

func (o *countingObserver) Accepted(l string) { o.mu.Lock(); o.accepted[l]++; o.mu.Unlock() }
func (o *countingObserver) AcceptError(l string, err error) {
	o.mu.Lock()
	o.acceptErr[l]++
	o.lastErr = err
	o.mu.Unlock()
}
func (o *countingObserver) Rejected(_, reason string) {
	o.mu.Lock()
	o.rejected[reason]++
	o.mu.Unlock()
}
func (o *countingObserver) Panic(l string) { o.mu.Lock(); o.panics[l]++; o.mu.Unlock() }

func (o *countingObserver) rejectedFor(reason string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.rejected[reason]
}

func (o *countingObserver) panicsFor(l string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.panics[l]
}

func (o *countingObserver) acceptErrors() (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, v := range o.acceptErr {
		n += v
	}
	return n, o.lastErr
}

func (o *countingObserver) acceptedFor(l string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.accepted[l]
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, d, what, cond)
}

func testLogger(t *testing.T) zerolog.Logger {
	return testkit.Logger(t, zerolog.DebugLevel).With().Timestamp().Logger()
}

// testBroker is a mochi server with an allow-all hook and imqtt listeners.
type testBroker struct {
	srv   *mqtt.Server
	guard *Guard
	obs   *countingObserver
	ls    map[string]*Listener
}

// brokerSetup is what brokerOpts may change before the server starts.
type brokerSetup struct {
	opts  *mqtt.Options
	hooks []mqtt.Hook
}

type brokerOpt func(*brokerSetup)

// withHook adds a hook after allowAll.
func withHook(h mqtt.Hook) brokerOpt {
	return func(s *brokerSetup) { s.hooks = append(s.hooks, h) }
}

// withCapabilities edits mochi's capabilities.
func withCapabilities(f func(*mqtt.Capabilities)) brokerOpt {
	return func(s *brokerSetup) {
		if s.opts.Capabilities == nil {
			s.opts.Capabilities = mqtt.NewDefaultServerCapabilities()
		}
		f(s.opts.Capabilities)
	}
}

// newTestBroker starts mochi with the given limits and listeners on 127.0.0.1:0.
// Cleanup closes the server, checks that every session goroutine ended and that
// every Guard slot was released, and closes the Guard.
func newTestBroker(t *testing.T, lim Limits, cfgs []Config, opts []Option, bopts ...brokerOpt) *testBroker {
	t.Helper()
	mo := &mqtt.Options{
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		InlineClient: false,
	}
	setup := &brokerSetup{opts: mo}
	for _, o := range bopts {
		o(setup)
	}
	srv := mqtt.New(mo)
	for _, h := range append([]mqtt.Hook{new(allowAll)}, setup.hooks...) {
		if err := srv.AddHook(h, nil); err != nil {
			t.Fatal(err)
		}
	}
	obs := newCountingObserver()
	log := testLogger(t)
	g := NewGuard(lim, obs, log)
	b := &testBroker{srv: srv, guard: g, obs: obs, ls: map[string]*Listener{}}
	for _, c := range cfgs {
		// mochi's own client closing can deadlock at Close (WithCloseClients).
		l, err := New(c, g, log, append([]Option{WithCloseClients(func(id string) {
			for _, cl := range srv.Clients.GetAll() {
				if cl.Net.Listener == id && !cl.Closed() {
					_ = srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
				}
			}
		})}, opts...)...)
		if err != nil {
			g.Close()
			t.Fatalf("new listener %s: %v", c.ID(), err)
		}
		if err := srv.AddListener(l); err != nil {
			g.Close()
			t.Fatalf("add listener %s: %v", c.ID(), err)
		}
		b.ls[l.ID()] = l
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for id, l := range b.ls {
			if err := l.Wait(ctx); err != nil {
				t.Errorf("listener %s: sessions still running after close: %v", id, err)
			}
		}
		eventually(t, 10*time.Second, "guard slots released", func() bool { return g.Open() == 0 })
		g.Close()
	})
	return b
}

func (b *testBroker) addr(id string) string { return b.ls[id].Address() }

// plainConfigs returns tcp and ws listeners on 127.0.0.1:0.
func tcpConfig() Config { return Config{Name: "tcp", Kind: KindTCP, Address: "127.0.0.1:0"} }
func wsConfig() Config  { return Config{Name: "ws", Kind: KindWS, Address: "127.0.0.1:0"} }

// testLimits returns DefaultLimits with the per-IP rate off (tests connect fast
// from one address).
func testLimits() Limits {
	l := DefaultLimits()
	l.PerIPRate = 0
	l.PerIPConnections = 0
	return l
}

// wsClientConn adapts a client WebSocket to net.Conn for paho.golang (binary
// messages; writes serialised).
type wsClientConn struct {
	ws *websocket.Conn
	r  io.Reader
	wm sync.Mutex
}

func (c *wsClientConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			_, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

func (c *wsClientConn) Write(p []byte) (int, error) {
	c.wm.Lock()
	defer c.wm.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsClientConn) Close() error                       { return c.ws.Close() }
func (c *wsClientConn) LocalAddr() net.Addr                { return c.ws.LocalAddr() }
func (c *wsClientConn) RemoteAddr() net.Addr               { return c.ws.RemoteAddr() }
func (c *wsClientConn) SetDeadline(t time.Time) error      { return c.ws.NetConn().SetDeadline(t) }
func (c *wsClientConn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *wsClientConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }

// dial opens a client byte stream to a listener of any kind: TCP, TLS (with
// tlsCfg), or a WebSocket on /mqtt (wss with tlsCfg).
func dial(t *testing.T, kind, addr string, tlsCfg *tls.Config) (net.Conn, error) {
	t.Helper()
	switch kind {
	case KindTCP:
		return net.DialTimeout("tcp", addr, 5*time.Second)
	case KindTLS:
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: tlsCfg}
		return d.Dial("tcp", addr)
	case KindWS, KindWSS:
		scheme := "ws"
		if kind == KindWSS {
			scheme = "wss"
		}
		d := websocket.Dialer{
			Subprotocols:     []string{"mqtt"},
			TLSClientConfig:  tlsCfg,
			HandshakeTimeout: 5 * time.Second,
		}
		u := url.URL{Scheme: scheme, Host: addr, Path: DefaultWSPath}
		ws, resp, err := d.Dial(u.String(), nil)
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusSwitchingProtocols || ws.Subprotocol() != "mqtt" {
			_ = ws.Close()
			return nil, fmt.Errorf("upgrade: status %d, subprotocol %q", resp.StatusCode, ws.Subprotocol())
		}
		return &wsClientConn{ws: ws}, nil
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

func mustDial(t *testing.T, kind, addr string, tlsCfg *tls.Config) net.Conn {
	t.Helper()
	c, err := dial(t, kind, addr, tlsCfg)
	if err != nil {
		t.Fatalf("dial %s %s: %v", kind, addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Raw MQTT packets for tests that speak the protocol byte by byte.

func mqttString(s string) []byte {
	b := make([]byte, 2+len(s))
	binary.BigEndian.PutUint16(b, uint16(len(s)))
	copy(b[2:], s)
	return b
}

func varint(n int) []byte {
	var out []byte
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			return out
		}
	}
}

func packet(header byte, body []byte) []byte {
	return append(append([]byte{header}, varint(len(body))...), body...)
}

// connectV5 is a CONNECT for MQTT 5, clean start, keepalive 30 s, no properties.
func connectV5(clientID string) []byte {
	body := append(mqttString("MQTT"), 5, 0x02, 0, 30, 0)
	body = append(body, mqttString(clientID)...)
	return packet(0x10, body)
}

// connectV311 is a CONNECT for MQTT 3.1.1, clean session, keepalive 30 s.
func connectV311(clientID string) []byte {
	body := append(mqttString("MQTT"), 4, 0x02, 0, 30)
	body = append(body, mqttString(clientID)...)
	return packet(0x10, body)
}

// readPacket reads one MQTT packet: its first byte and body.
func readPacket(r *bufio.Reader) (byte, []byte, error) {
	h, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mul := 0, 1
	for i := 0; ; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(b&0x7f) * mul
		mul *= 128
		if b&0x80 == 0 {
			break
		}
		if i == 3 {
			return 0, nil, errors.New("bad length")
		}
	}
	body := make([]byte, n)
	_, err = io.ReadFull(r, body)
	return h, body, err
}

// rawConnect sends CONNECT and expects a successful CONNACK.
func rawConnect(t *testing.T, c net.Conn, connect []byte) *bufio.Reader {
	t.Helper()
	if _, err := c.Write(connect); err != nil {
		t.Fatalf("write connect: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	h, body, err := readPacket(r)
	if err != nil {
		t.Fatalf("read connack: %v", err)
	}
	if h != 0x20 || len(body) < 2 || body[1] != 0 {
		t.Fatalf("connack: header %#x body % x", h, body)
	}
	_ = c.SetReadDeadline(time.Time{})
	return r
}

// expectClosed reads until the server closes the stream; it fails if the
// server sends anything or does not close within d.
func expectClosed(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if n > 0 {
		t.Fatalf("server sent % x, expected close", buf[:n])
	}
	if isTimeout(err) {
		t.Fatalf("connection still open after %s", d)
	}
	if err == nil {
		t.Fatal("read returned no error and no data")
	}
}

func testLoggerB(b *testing.B) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(b)).Level(zerolog.WarnLevel)
}
