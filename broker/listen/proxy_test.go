package listen

import (
	"bufio"
	"crypto/tls"
	"net"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	proxyproto "github.com/pires/go-proxyproto"
)

// proxyConfig is a tcp (or, with files, tls) listener with PROXY protocol on,
// trusting trusted.
func proxyConfig(kind string, files *tlsFiles, untrusted string, trusted ...string) Config {
	c := Config{Name: kind, Kind: kind, Address: "127.0.0.1:0"}
	if files != nil {
		c = files.config(kind, kind, ClientAuthNone)
	}
	c.ProxyProtocol, c.ProxyTrusted, c.ProxyUntrusted = true, trusted, untrusted
	return c
}

// proxyHeader formats a PROXY header (version 1 or 2) claiming src.
func proxyHeader(t *testing.T, version byte, src string) []byte {
	t.Helper()
	h := proxyproto.HeaderProxyFromAddrs(version, mustTCPAddr(t, src), mustTCPAddr(t, "10.0.0.11:1883"))
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// localHeader is a v2 LOCAL header (a health check of the proxy itself).
func localHeader(t *testing.T) []byte {
	t.Helper()
	b, err := (&proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC}).Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustTCPAddr(t *testing.T, s string) *net.TCPAddr {
	t.Helper()
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// remoteOf waits for mochi's client id and returns its cl.Net.Remote, the
// address logs, hooks and the admin API see.
func remoteOf(t *testing.T, b *testBroker, id string) string {
	t.Helper()
	var cl *mqtt.Client
	eventually(t, 5*time.Second, "client "+id, func() bool {
		var ok bool
		cl, ok = b.srv.Clients.Get(id)
		return ok
	})
	return cl.Net.Remote
}

// TestProxyRealAddress: a v1 or v2 header from a trusted peer, with the
// CONNECT in the same write or after it, gives mochi the client's address.
func TestProxyRealAddress(t *testing.T) {
	b := newTestBroker(t, testLimits(), []Config{proxyConfig(KindTCP, nil, "", "127.0.0.0/8")}, nil)
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
			c := mustDial(t, KindTCP, b.addr(KindTCP), nil)
			hdr, connect := proxyHeader(t, tc.version, tc.src), connectV5("c-"+tc.name)
			if !tc.split {
				hdr, connect = append(hdr, connect...), nil
			}
			if _, err := c.Write(hdr); err != nil {
				t.Fatal(err)
			}
			if connect == nil {
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				r := bufio.NewReader(c)
				if h, body, err := readPacket(r); err != nil || h != 0x20 || body[1] != 0 {
					t.Fatalf("connack %#x % x %v", h, body, err)
				}
			} else {
				rawConnect(t, c, connect)
			}
			if got := remoteOf(t, b, "c-"+tc.name); got != tc.src {
				t.Fatalf("cl.Net.Remote = %s, want %s", got, tc.src)
			}
		})
	}
}

// TestProxyTLS: on a tls listener the header comes before the ClientHello;
// the handshake and the TLS state still work, and the address is the client's.
func TestProxyTLS(t *testing.T) {
	files := newTLSFiles(t)
	b := newTestBroker(t, testLimits(), []Config{proxyConfig(KindTLS, files, "", "127.0.0.1")}, nil)
	raw := mustDial(t, KindTCP, b.addr(KindTLS), nil)
	if _, err := raw.Write(proxyHeader(t, 2, "203.0.113.7:51234")); err != nil {
		t.Fatal(err)
	}
	c := tls.Client(raw, files.clientTLS())
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := c.Handshake(); err != nil {
		t.Fatalf("handshake after the header: %v", err)
	}
	rawConnect(t, c, connectV311("tls-client"))
	if got := remoteOf(t, b, "tls-client"); got != "203.0.113.7:51234" {
		t.Fatalf("cl.Net.Remote = %s", got)
	}
	cl, _ := b.srv.Clients.Get("tls-client")
	if st, ok := ConnectionState(cl.Net.Conn); !ok || !st.HandshakeComplete {
		t.Fatalf("ConnectionState = %v, %v", st.HandshakeComplete, ok)
	}
	// A TLS client that skips the header is refused before any handshake.
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: files.clientTLS()}
	if c2, err := d.Dial("tcp", b.addr(KindTLS)); err == nil {
		_ = c2.Close()
		t.Fatal("TLS without a PROXY header was accepted")
	}
	eventually(t, 5*time.Second, "proxy_header rejection", func() bool { return b.obs.rejectedFor(ReasonProxyHeader) == 1 })
	if n := b.obs.rejectedFor(ReasonTLSHandshake); n != 0 {
		t.Fatalf("%d tls_handshake rejections, want 0", n)
	}
}

// TestProxyLocal: a LOCAL header (the proxy's own connection) keeps the socket
// address.
func TestProxyLocal(t *testing.T) {
	b := newTestBroker(t, testLimits(), []Config{proxyConfig(KindTCP, nil, "", "127.0.0.1")}, nil)
	c := mustDial(t, KindTCP, b.addr(KindTCP), nil)
	if _, err := c.Write(localHeader(t)); err != nil {
		t.Fatal(err)
	}
	rawConnect(t, c, connectV5("health"))
	if got, want := remoteOf(t, b, "health"), c.LocalAddr().String(); got != want {
		t.Fatalf("cl.Net.Remote = %s, want the socket's %s", got, want)
	}
}

// TestProxyUntrusted: a peer outside proxy_trusted is refused without a read
// (refuse, the default), or served plain with its socket address and never
// read as sending a header (plain).
func TestProxyUntrusted(t *testing.T) {
	b := newTestBroker(t, testLimits(), []Config{
		proxyConfig(KindTCP, nil, "", "10.0.0.0/8"),
		func() Config { c := proxyConfig(KindTCP, nil, "plain", "10.0.0.0/8"); c.Name = "plain"; return c }(),
	}, nil)

	c := mustDial(t, KindTCP, b.addr(KindTCP), nil)
	if _, err := c.Write(append(proxyHeader(t, 2, "203.0.113.7:1"), connectV5("spoof")...)); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, c, 5*time.Second)
	eventually(t, 5*time.Second, "proxy_untrusted rejection", func() bool { return b.obs.rejectedFor(ReasonProxyUntrusted) == 1 })

	direct := mustDial(t, KindTCP, b.addr("plain"), nil)
	rawConnect(t, direct, connectV5("direct"))
	if got, want := remoteOf(t, b, "direct"), direct.LocalAddr().String(); got != want {
		t.Fatalf("plain: cl.Net.Remote = %s, want %s", got, want)
	}
	spoof := mustDial(t, KindTCP, b.addr("plain"), nil)
	if _, err := spoof.Write(append(proxyHeader(t, 1, "203.0.113.7:1"), connectV5("spoof2")...)); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, spoof, 5*time.Second)
	if _, ok := b.srv.Clients.Get("spoof2"); ok {
		t.Fatal("an untrusted peer's header was honoured")
	}
	eventually(t, 5*time.Second, "first_packet_not_connect", func() bool { return b.obs.rejectedFor(ReasonFirstPacketType) == 1 })
}

// TestProxyBadHeader: a trusted peer without a header, or with a malformed
// one, is closed and counted as proxy_header; one that closes before sending
// anything (a TCP health check) is not counted.
func TestProxyBadHeader(t *testing.T) {
	b := newTestBroker(t, testLimits(), []Config{proxyConfig(KindTCP, nil, "", "127.0.0.1")}, nil)
	for i, data := range [][]byte{
		connectV5("no-header"),
		[]byte("PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n"),
		append(append([]byte(nil), proxyHeader(t, 2, "1.2.3.4:5")[:12]...), 0x31, 0x11, 0, 12),
	} {
		c := mustDial(t, KindTCP, b.addr(KindTCP), nil)
		if _, err := c.Write(data); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, c, 5*time.Second)
		eventually(t, 5*time.Second, "proxy_header rejections", func() bool { return b.obs.rejectedFor(ReasonProxyHeader) == i+1 })
	}
	c := mustDial(t, KindTCP, b.addr(KindTCP), nil)
	_ = c.Close()
	eventually(t, 5*time.Second, "slot released", func() bool { return b.guard.Open() == 0 })
	if n := b.obs.rejectedFor(ReasonProxyHeader); n != 3 {
		t.Fatalf("%d proxy_header rejections after an empty connection, want 3", n)
	}
}

// TestProxySlowHeader: a truncated header is cut at the connect deadline.
func TestProxySlowHeader(t *testing.T) {
	lim := testLimits()
	lim.ConnectTimeout = 300 * time.Millisecond
	b := newTestBroker(t, lim, []Config{proxyConfig(KindTCP, nil, "", "127.0.0.1")}, nil)
	for _, part := range [][]byte{nil, []byte("PROX"), proxyHeader(t, 2, "1.2.3.4:5")[:20]} {
		start := time.Now()
		c := mustDial(t, KindTCP, b.addr(KindTCP), nil)
		if len(part) > 0 {
			if _, err := c.Write(part); err != nil {
				t.Fatal(err)
			}
		}
		expectClosed(t, c, 5*time.Second)
		if took := time.Since(start); took < lim.ConnectTimeout-50*time.Millisecond {
			t.Fatalf("closed after %v, before the %v deadline", took, lim.ConnectTimeout)
		}
	}
	eventually(t, 5*time.Second, "connect_timeout rejections", func() bool { return b.obs.rejectedFor(ReasonConnectTimeout) == 3 })
}

// TestProxyPerIPUsesClientAddress: the per-IP limits count the address in the
// header, not the load balancer's: two clients behind one proxy socket address
// pass per_ip_connections 1, a second socket for the same client address is
// refused with a CONNACK (0x97, read past the header), and closing the first
// frees the slot.
func TestProxyPerIPUsesClientAddress(t *testing.T) {
	lim := testLimits()
	lim.PerIPConnections = 1
	b := newTestBroker(t, lim, []Config{proxyConfig(KindTCP, nil, "", "127.0.0.1")}, nil)
	connect := func(src, id string) net.Conn {
		c := mustDial(t, KindTCP, b.addr(KindTCP), nil)
		if _, err := c.Write(append(proxyHeader(t, 2, src), connectV5(id)...)); err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := connect("203.0.113.1:1000", "a")
	if _, err := readConnack(a); err != 0 {
		t.Fatalf("client a: CONNACK reason %#x", err)
	}
	bc := connect("203.0.113.2:1000", "b")
	if _, err := readConnack(bc); err != 0 {
		t.Fatalf("client b (other address, same proxy): CONNACK reason %#x", err)
	}
	a2 := connect("203.0.113.1:1001", "a2")
	if _, code := readConnack(a2); code != 0x97 {
		t.Fatalf("second socket of 203.0.113.1: CONNACK reason %#x, want 0x97", code)
	}
	eventually(t, 5*time.Second, "per_ip_connections rejection", func() bool { return b.obs.rejectedFor(ReasonPerIPConnections) == 1 })
	_ = a.Close()
	eventually(t, 5*time.Second, "a's session gone", func() bool {
		cl, ok := b.srv.Clients.Get("a")
		return !ok || cl.Closed()
	})
	eventually(t, 5*time.Second, "a's slot released", func() bool { return b.guard.tracked() == 1 })
	a3 := connect("203.0.113.1:1002", "a3")
	if _, code := readConnack(a3); code != 0 {
		t.Fatalf("after a closed: CONNACK reason %#x", code)
	}
}

// readConnack reads one CONNACK and returns its header byte and reason code
// (0xff when the stream ended without one).
func readConnack(c net.Conn) (byte, byte) {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	h, body, err := readPacket(bufio.NewReader(c))
	_ = c.SetReadDeadline(time.Time{})
	if err != nil || h != 0x20 || len(body) < 2 {
		return h, 0xff
	}
	return h, body[1]
}
