package transport

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"github.com/imqtt/imqtt/broker/listen"
)

// rejections is a listen.Observer that counts rejections by reason.
type rejections struct {
	mu sync.Mutex
	n  map[string]int
}

func newRejections() *rejections { return &rejections{n: map[string]int{}} }

func (r *rejections) Accepted(string)           {}
func (r *rejections) AcceptError(string, error) {}
func (r *rejections) Panic(string)              {}
func (r *rejections) Rejected(_, reason string) {
	r.mu.Lock()
	r.n[reason]++
	r.mu.Unlock()
}

func (r *rejections) of(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[reason]
}

// proxyListener is a tcp listener (or tls, with lt) named name with PROXY
// protocol on, trusting trusted, with the untrusted policy.
func proxyListener(name string, lt *listen.TLSConfig, untrusted string, trusted ...string) listen.Config {
	c := listen.Config{Name: name, Kind: listen.KindTCP, Address: "127.0.0.1:0"}
	if lt != nil {
		c.Kind, c.TLS = listen.KindTLS, *lt
	}
	c.ProxyProtocol, c.ProxyTrusted, c.ProxyUntrusted = true, trusted, untrusted
	return c
}

// proxyServer starts a server with the given listeners, an echo handler and a
// counting Observer.
func proxyServer(t *testing.T, lim listen.Limits, mod func(*Config), lns ...listen.Config) (*Server, *echoHandler, *rejections) {
	t.Helper()
	cfg := testConfig()
	cfg.Listeners = lns
	if mod != nil {
		mod(&cfg)
	}
	h, obs := newEcho(t), newRejections()
	return newTestServerObs(t, cfg, h, lim, obs), h, obs
}

// proxyHeader formats a PROXY header (version 1 or 2) claiming src.
func proxyHeader(t *testing.T, version byte, src string) []byte {
	t.Helper()
	dst := "10.0.0.11:1883"
	if netip.MustParseAddrPort(src).Addr().Is6() {
		dst = "[2001:db8::1]:1883"
	}
	h := proxyproto.HeaderProxyFromAddrs(version, net.TCPAddrFromAddrPort(netip.MustParseAddrPort(src)),
		net.TCPAddrFromAddrPort(netip.MustParseAddrPort(dst)))
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// localHeader is a v2 LOCAL header (the proxy's own health check).
func localHeader(t *testing.T) []byte {
	t.Helper()
	b, err := (&proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC}).Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// closedWithin reads nc until EOF or a reset, failing on data or after 5 s.
func closedWithin(t *testing.T, nc net.Conn) {
	t.Helper()
	expectEOF(t, nc)
}

// TestProxyRealAddress: a v1 or v2 header from a trusted peer, with the
// CONNECT in the same write or after it, makes the header's client address
// Conn.Remote; the MQTT bytes after the header are framed as usual.
func TestProxyRealAddress(t *testing.T) {
	s, h, _ := proxyServer(t, listen.DefaultLimits(), nil, proxyListener("tcp", nil, "", "127.0.0.0/8"))
	for _, tc := range []struct {
		name    string
		version byte
		src     string
		split   bool
	}{
		{"v1", 1, "203.0.113.7:51234", false},
		{"v2", 2, "203.0.113.8:40001", false},
		{"v2 split", 2, "198.51.100.9:7", true},
		{"v1 ipv6", 1, "[2001:db8::7]:1234", false},
		{"v2 ipv6", 2, "[2001:db8::8]:1235", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := dial(t, s, "tcp")
			hdr, connect := proxyHeader(t, tc.version, tc.src), connectPacket(5, 0, "c")
			if tc.split {
				mustWrite(t, nc, hdr)
				mustWrite(t, nc, connect)
			} else {
				mustWrite(t, nc, append(hdr, connect...))
			}
			if got := readN(t, nc, 5); got[0] != 0x20 || got[3] != 0 {
				t.Fatalf("connack % x", got)
			}
			if got := h.conn(t).Remote().String(); got != tc.src {
				t.Fatalf("Remote = %s, want %s", got, tc.src)
			}
			_ = nc.Close()
			if ev := h.waitClosed(t); !errors.Is(ev.cause, io.EOF) {
				t.Fatalf("cause %v", ev.cause)
			}
		})
	}
}

// TestProxyTLS: on a tls listener the header comes before the ClientHello
// (the bytes read past the header are the ClientHello's start); the handshake
// and TLS state work and Remote is the client's. A TLS client that skips the
// header is refused as proxy_header, not as a failed handshake.
func TestProxyTLS(t *testing.T) {
	lt, ct := testCert(t)
	s, h, obs := proxyServer(t, listen.DefaultLimits(), nil, proxyListener("tls", &lt, "", "127.0.0.1"))
	raw := dial(t, s, "tls")
	// One write: the header and the ClientHello arrive together (rest != nil).
	tc := tls.Client(&prefixConn{Conn: raw, prefix: proxyHeader(t, 2, "203.0.113.7:51234")}, ct)
	_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake after the header: %v", err)
	}
	mustWrite(t, tc, connectPacket(4, 0, "tls"))
	readN(t, tc, 4)
	c := h.conn(t)
	if got := c.Remote().String(); got != "203.0.113.7:51234" {
		t.Fatalf("Remote = %s", got)
	}
	if st := c.TLS(); st == nil || !st.HandshakeComplete {
		t.Fatalf("tls state %+v", st)
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: ct}
	if c2, err := d.Dial("tcp", s.Addr("tls").String()); err == nil {
		_ = c2.Close()
		t.Fatal("TLS without a PROXY header was accepted")
	}
	waitFor(t, "a proxy_header rejection", func() bool { return obs.of(listen.ReasonProxyHeader) == 1 })
	if n := obs.of(listen.ReasonTLSHandshake); n != 0 {
		t.Fatalf("%d tls_handshake rejections, want 0", n)
	}
}

// prefixConn sends prefix in the same write as the first Write.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Write(b []byte) (int, error) {
	if p.prefix != nil {
		buf := append(p.prefix, b...)
		p.prefix = nil
		if _, err := p.Conn.Write(buf); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return p.Conn.Write(b)
}

// TestProxyLocal: a LOCAL header (the proxy's own connection) keeps the
// socket's address.
func TestProxyLocal(t *testing.T) {
	s, h, _ := proxyServer(t, listen.DefaultLimits(), nil, proxyListener("tcp", nil, "", "127.0.0.1"))
	nc := dial(t, s, "tcp")
	mustWrite(t, nc, localHeader(t))
	mustWrite(t, nc, connectPacket(5, 0, "health"))
	readN(t, nc, 5)
	if got, want := h.conn(t).Remote().String(), nc.LocalAddr().String(); got != want {
		t.Fatalf("Remote = %s, want the socket's %s", got, want)
	}
}

// TestProxyUntrusted: a peer outside proxy_trusted is refused without a read
// (refuse, the default), or served plain under its socket address and never
// read as sending a header (plain: the header is MQTT bytes, malformed here).
func TestProxyUntrusted(t *testing.T) {
	s, h, obs := proxyServer(t, listen.DefaultLimits(), nil,
		proxyListener("tcp", nil, "", "10.0.0.0/8"), proxyListener("plain", nil, "plain", "10.0.0.0/8"))

	nc := dial(t, s, "tcp")
	mustWrite(t, nc, append(proxyHeader(t, 2, "203.0.113.7:1"), connectPacket(5, 0, "spoof")...))
	closedWithin(t, nc)
	waitFor(t, "a proxy_untrusted rejection", func() bool { return obs.of(listen.ReasonProxyUntrusted) == 1 })

	direct := dial(t, s, "plain")
	mustWrite(t, direct, connectPacket(5, 0, "direct"))
	readN(t, direct, 5)
	if got, want := h.conn(t).Remote().String(), direct.LocalAddr().String(); got != want {
		t.Fatalf("plain: Remote = %s, want %s", got, want)
	}
	_ = direct.Close()
	h.waitClosed(t)

	spoof := dial(t, s, "plain")
	mustWrite(t, spoof, append(proxyHeader(t, 2, "203.0.113.7:1"), connectPacket(5, 0, "spoof2")...))
	closedWithin(t, spoof)
	ev := h.waitClosed(t)
	if !errors.Is(ev.cause, ErrMalformed) {
		t.Fatalf("cause %v, want the header framed as a malformed packet", ev.cause)
	}
	if got, want := ev.c.Remote().String(), spoof.LocalAddr().String(); got != want {
		t.Fatalf("an untrusted peer's header was honoured: Remote = %s, want %s", got, want)
	}
	if n := obs.of(listen.ReasonProxyHeader); n != 0 {
		t.Fatalf("%d proxy_header rejections on the plain listener", n)
	}
}

// TestProxyBadHeader: a trusted peer without a header, or with a malformed
// one, is closed and counted as proxy_header; one that closes before sending
// anything (a TCP health check) is not counted; no Handler call for any.
func TestProxyBadHeader(t *testing.T) {
	s, h, obs := proxyServer(t, listen.DefaultLimits(), nil, proxyListener("tcp", nil, "", "127.0.0.1"))
	for i, data := range [][]byte{
		connectPacket(5, 0, "no-header"),
		[]byte("PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n"),
		append(append([]byte(nil), proxyHeader(t, 2, "1.2.3.4:5")[:12]...), 0x31, 0x11, 0, 12),
	} {
		nc := dial(t, s, "tcp")
		mustWrite(t, nc, data)
		closedWithin(t, nc)
		waitFor(t, "proxy_header rejections", func() bool { return obs.of(listen.ReasonProxyHeader) == i+1 })
	}
	nc := dial(t, s, "tcp")
	_ = nc.Close()
	waitFor(t, "the slots released", func() bool { return s.guard.Open() == 0 })
	if n := obs.of(listen.ReasonProxyHeader); n != 3 {
		t.Fatalf("%d proxy_header rejections after an empty connection, want 3", n)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.opened != 0 {
		t.Fatalf("%d connections opened", h.opened)
	}
	// A trusted peer still silent when the server closes: Close must not wait
	// for its connect timeout (the cleanup's Close is bounded; see below).
	idle := dial(t, s, "tcp")
	waitFor(t, "the idle socket admitted", func() bool { return s.guard.Open() == 1 })
	start := time.Now()
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v with a header read pending", d)
	}
	expectEOF(t, idle)
}

// TestProxySlowHeader: nothing, or a truncated header, is cut at the connect
// deadline and counted as connect_timeout.
func TestProxySlowHeader(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s, _, obs := proxyServer(t, listen.DefaultLimits(), func(c *Config) { c.ConnectTimeout = timeout },
		proxyListener("tcp", nil, "", "127.0.0.1"))
	for _, part := range [][]byte{nil, []byte("PROX"), proxyHeader(t, 2, "1.2.3.4:5")[:20]} {
		start := time.Now()
		nc := dial(t, s, "tcp")
		if len(part) > 0 {
			mustWrite(t, nc, part)
		}
		closedWithin(t, nc)
		if took := time.Since(start); took < timeout-50*time.Millisecond {
			t.Fatalf("closed after %v, before the %v deadline", took, timeout)
		}
	}
	waitFor(t, "connect_timeout rejections", func() bool { return obs.of(listen.ReasonConnectTimeout) == 3 })
}

// TestProxyConnectDeadlineSpansHeader: the header does not restart the
// connect deadline: a header sent at once, then no CONNECT, is cut at accept
// + ConnectTimeout with ErrConnectTimeout.
func TestProxyConnectDeadlineSpansHeader(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s, h, _ := proxyServer(t, listen.DefaultLimits(), func(c *Config) { c.ConnectTimeout = timeout },
		proxyListener("tcp", nil, "", "127.0.0.1"))
	start := time.Now()
	nc := dial(t, s, "tcp")
	mustWrite(t, nc, proxyHeader(t, 1, "203.0.113.9:9"))
	closedWithin(t, nc)
	if took := time.Since(start); took < timeout-50*time.Millisecond || took > 3*timeout {
		t.Fatalf("closed after %v, want about %v", took, timeout)
	}
	if ev := h.waitClosed(t); !errors.Is(ev.cause, ErrConnectTimeout) {
		t.Fatalf("cause %v", ev.cause)
	}
}

// TestProxyPerIPUsesClientAddress: the per-IP limits count the header's
// address, not the load balancer's: two clients behind one proxy address pass
// per_ip_connections 1, a second socket for the same client address is refused
// with a CONNACK 0x97 (the CONNECT read past the header), and closing the
// first frees the slot.
func TestProxyPerIPUsesClientAddress(t *testing.T) {
	lim := listen.DefaultLimits()
	lim.PerIPConnections = 1
	s, h, obs := proxyServer(t, lim, nil, proxyListener("tcp", nil, "", "127.0.0.1"))
	connect := func(src, id string) net.Conn {
		nc := dial(t, s, "tcp")
		mustWrite(t, nc, append(proxyHeader(t, 2, src), connectPacket(5, 0, id)...))
		return nc
	}
	a := connect("203.0.113.1:1000", "a")
	if got := readN(t, a, 5); got[3] != 0 {
		t.Fatalf("client a: CONNACK % x", got)
	}
	b := connect("203.0.113.2:1000", "b")
	if got := readN(t, b, 5); got[3] != 0 {
		t.Fatalf("client b (other address, same proxy): CONNACK % x", got)
	}
	a2 := connect("203.0.113.1:1001", "a2")
	if got := readN(t, a2, 5); got[0] != 0x20 || got[3] != 0x97 {
		t.Fatalf("second socket of 203.0.113.1: CONNACK % x, want reason 0x97", got)
	}
	expectEOF(t, a2)
	waitFor(t, "a per_ip_connections rejection", func() bool { return obs.of(listen.ReasonPerIPConnections) == 1 })
	waitFor(t, "two open", func() bool { return s.guard.Open() == 2 })
	_ = a.Close()
	h.waitClosed(t)
	// The slot is released after Handler.Closed returns (reader.go finish).
	waitFor(t, "a's slot released", func() bool { return s.guard.Open() == 1 })
	a3 := connect("203.0.113.1:1002", "a3")
	if got := readN(t, a3, 5); got[3] != 0 {
		t.Fatalf("after a closed: CONNACK % x", got)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.opened != 3 {
		t.Fatalf("%d opened, want 3 (a, b, a3)", h.opened)
	}
}

// TestProxyPerIPTLS: on a tls PROXY listener a per-IP refusal after the header
// closes the socket before the handshake (no CONNACK: it would need TLS), and
// the slots add up (the cleanup checks the Guard counts none).
func TestProxyPerIPTLS(t *testing.T) {
	lt, ct := testCert(t)
	lim := listen.DefaultLimits()
	lim.PerIPConnections = 1
	s, h, obs := proxyServer(t, lim, nil, proxyListener("tls", &lt, "", "127.0.0.1"))
	hello := func(src string) (*tls.Conn, error) {
		tc := tls.Client(&prefixConn{Conn: dial(t, s, "tls"), prefix: proxyHeader(t, 1, src)}, ct)
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		return tc, tc.Handshake()
	}
	a, err := hello("203.0.113.1:1")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, a, connectPacket(4, 0, "a"))
	readN(t, a, 4)
	if _, err := hello("203.0.113.1:2"); err == nil {
		t.Fatal("a second TLS socket of 203.0.113.1 completed its handshake")
	}
	waitFor(t, "a per_ip_connections rejection", func() bool { return obs.of(listen.ReasonPerIPConnections) == 1 })
	waitFor(t, "one open", func() bool { return s.guard.Open() == 1 })
	_ = a.Close()
	h.waitClosed(t)
	waitFor(t, "none open", func() bool { return s.guard.Open() == 0 })
	if _, err := hello("203.0.113.1:3"); err != nil {
		t.Fatalf("after a closed: %v", err)
	}
}
