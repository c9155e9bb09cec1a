package listen

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"
)

func TestConnectTimeout(t *testing.T) {
	files := newTLSFiles(t)
	lim := testLimits()
	lim.ConnectTimeout = time.Second
	b := newTestBroker(t, lim, []Config{tcpConfig(), wsConfig(), files.config("tls", KindTLS, "")}, nil)

	// All at once (the waits overlap); each is checked against its own start.
	tests := []struct {
		name string
		kind string
		send []byte // written after connecting (before the timeout)
	}{
		{"tcp silent", KindTCP, nil},
		{"tcp header only", KindTCP, []byte{0x10, 0x20}},
		{"tcp half a connect", KindTCP, connectV5("slow")[:8]},
		{"ws silent after upgrade", KindWS, nil},
		{"tls no handshake", "tls-raw", nil},
	}
	type pending struct {
		name  string
		c     net.Conn
		start time.Time
	}
	var ps []pending
	for _, tc := range tests {
		start := time.Now()
		var c net.Conn
		if tc.kind == "tls-raw" {
			c = mustDial(t, KindTCP, b.addr("tls"), nil) // TCP only: the TLS handshake never starts
		} else {
			c = mustDial(t, tc.kind, b.addr(tc.kind), nil)
		}
		if tc.send != nil {
			if _, err := c.Write(tc.send); err != nil {
				t.Fatal(err)
			}
		}
		ps = append(ps, pending{tc.name, c, start})
	}
	for _, p := range ps {
		t.Run(p.name, func(t *testing.T) {
			// Generous upper bound: the test machine may be loaded; the lower bound
			// shows the socket was closed by the timeout, not at once.
			expectClosed(t, p.c, lim.ConnectTimeout+10*time.Second)
			if el := time.Since(p.start); el < lim.ConnectTimeout-50*time.Millisecond {
				t.Fatalf("closed after %s, before the connect timeout %s", el, lim.ConnectTimeout)
			}
		})
	}
	eventually(t, 10*time.Second, "4 connect_timeout and 1 tls_handshake", func() bool {
		return b.obs.rejectedFor(ReasonConnectTimeout) == 4 && b.obs.rejectedFor(ReasonTLSHandshake) == 1
	})

	t.Run("keepalive replaces the connect timeout", func(t *testing.T) {
		c := mustDial(t, KindTCP, b.addr("tcp"), nil)
		r := rawConnect(t, c, connectV5("alive"))
		// Stay silent for twice the connect timeout: our read must time out (the
		// server keeps the socket open), then a PINGREQ is still answered.
		_ = c.SetReadDeadline(time.Now().Add(2 * lim.ConnectTimeout))
		if _, err := r.ReadByte(); !isTimeout(err) {
			t.Fatalf("server closed or wrote after CONNECT: %v", err)
		}
		if _, err := c.Write([]byte{0xc0, 0x00}); err != nil {
			t.Fatalf("pingreq: %v", err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if h, _, err := readPacket(r); err != nil || h != 0xd0 {
			t.Fatalf("pingresp: %#x %v", h, err)
		}
	})
}

func TestFirstPacketChecks(t *testing.T) {
	lim := testLimits()
	lim.MaxFirstPacket = 1024
	b := newTestBroker(t, lim, []Config{tcpConfig(), wsConfig()}, nil)

	tests := []struct {
		name   string
		send   []byte
		reason string
	}{
		{"publish first", []byte{0x30, 0x00}, ReasonFirstPacketType},
		{"subscribe first", []byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61}, ReasonFirstPacketType},
		{"connect with flags", []byte{0x11, 0x00}, ReasonFirstPacketType},
		{"http on the mqtt port", []byte("GET / HTTP/1.1\r\n\r\n"), ReasonFirstPacketType},
		{"256 MiB connect header", []byte{0x10, 0xff, 0xff, 0xff, 0x7f}, ReasonFirstPacketSize},
		{"one byte over the limit", append([]byte{0x10}, varint(1025)...), ReasonFirstPacketSize},
		{"five length bytes", []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0x01}, ReasonFirstPacketMalformed},
	}
	for _, kind := range []string{KindTCP, KindWS} {
		for _, tc := range tests {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				before := b.obs.rejectedFor(tc.reason)
				c := mustDial(t, kind, b.addr(kind), nil)
				if _, err := c.Write(tc.send); err != nil {
					t.Fatal(err)
				}
				expectClosed(t, c, 10*time.Second)
				eventually(t, 10*time.Second, tc.reason+" counted", func() bool { return b.obs.rejectedFor(tc.reason) > before })
			})
		}
		t.Run(kind+"/connect at the limit passes", func(t *testing.T) {
			// A CONNECT whose remaining length is exactly MaxFirstPacket (long client id).
			id := make([]byte, 0, 1024)
			for len(connectV311(string(id)))-3 < 1024 {
				id = append(id, 'a')
			}
			pk := connectV311(string(id))
			if rl := len(pk) - 3; rl != 1024 {
				t.Fatalf("test packet has remaining length %d", rl)
			}
			c := mustDial(t, kind, b.addr(kind), nil)
			rawConnect(t, c, pk)
		})
	}
}

func TestHugeConnectHeaderAllocatesNothing(t *testing.T) {
	b := newTestBroker(t, testLimits(), []Config{tcpConfig()}, nil)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 20 {
		c := mustDial(t, KindTCP, b.addr("tcp"), nil)
		// A CONNECT announcing 256 MiB - 1 and no body: the server must close
		// without reading (or allocating for) the body.
		if _, err := c.Write([]byte{0x10, 0xff, 0xff, 0xff, 0x7f}); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, c, 10*time.Second)
	}
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<20 {
		t.Fatalf("allocated %d MiB for 20 refused 256 MiB headers", grown>>20)
	}
	eventually(t, 10*time.Second, "20 first_packet_too_large", func() bool { return b.obs.rejectedFor(ReasonFirstPacketSize) == 20 })
}

// connectOrClosed dials and either completes CONNECT/CONNACK (true) or is
// refused: the server closes the socket at once, or (tcp) answers with a
// refusal CONNACK (false).
func connectOrClosed(t *testing.T, kind, addr, id string) (net.Conn, bool) {
	t.Helper()
	c, code := connectCode(t, kind, addr, id, connectV5(id))
	return c, code == 0
}

// connectCode dials, sends connect and returns the CONNACK's code (v5 reason
// code or 3.1.1 return code), or -1 when the server closed the socket without
// one.
func connectCode(t *testing.T, kind, addr, id string, connect []byte) (net.Conn, int) {
	t.Helper()
	c, err := dial(t, kind, addr, nil)
	if err != nil {
		return nil, -1 // ws: the upgrade itself fails when the socket is closed
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(connect); err != nil {
		return c, -1
	}
	h, body, err := readPacket(bufio.NewReader(c))
	if err != nil {
		if isTimeout(err) {
			t.Fatalf("%s: neither connected nor closed", id)
		}
		return c, -1
	}
	if h != 0x20 || len(body) < 2 {
		t.Fatalf("%s: connack %#x % x", id, h, body)
	}
	_ = c.SetDeadline(time.Time{})
	return c, int(body[1])
}

func TestCountLimits(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		lim    func(*Limits)
		reason string
		reopen bool // closing one connection makes room again
		v5, v3 int  // CONNACK code a refused v5 / 3.1.1 client reads (-1: closed without one)
	}{
		{"per ip connections tcp", KindTCP, func(l *Limits) { l.PerIPConnections = 3 }, ReasonPerIPConnections, true, 0x97, 3},
		{"max connections tcp", KindTCP, func(l *Limits) { l.MaxConnections = 3 }, ReasonMaxConnections, true, 0x89, 3},
		{"max connections ws", KindWS, func(l *Limits) { l.MaxConnections = 3 }, ReasonMaxConnections, true, -1, -1},
		{"per ip rate tcp", KindTCP, func(l *Limits) { l.PerIPRate = 0.01; l.PerIPBurst = 3 }, ReasonPerIPRate, false, 0x9F, 3},
		{"per ip rate ws", KindWS, func(l *Limits) { l.PerIPRate = 0.01; l.PerIPBurst = 3 }, ReasonPerIPRate, false, -1, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lim := testLimits()
			tc.lim(&lim)
			cfg := tcpConfig()
			if tc.kind == KindWS {
				cfg = wsConfig()
			}
			b := newTestBroker(t, lim, []Config{cfg}, nil)
			addr := b.addr(cfg.Name)
			var open []net.Conn
			for i := range 3 {
				c, ok := connectOrClosed(t, tc.kind, addr, fmt.Sprintf("c%d", i))
				if !ok {
					t.Fatalf("connection %d refused below the limit", i)
				}
				open = append(open, c)
			}
			if _, code := connectCode(t, tc.kind, addr, "c3", connectV5("c3")); code != tc.v5 {
				t.Fatalf("fourth connection over the limit (v5): CONNACK %d, want %d", code, tc.v5)
			}
			if _, code := connectCode(t, tc.kind, addr, "c3", connectV311("c3")); code != tc.v3 {
				t.Fatalf("fourth connection over the limit (3.1.1): CONNACK %d, want %d", code, tc.v3)
			}
			eventually(t, 10*time.Second, tc.reason+" counted", func() bool { return b.obs.rejectedFor(tc.reason) == 2 })
			if got := b.guard.Open(); got != 3 {
				t.Fatalf("guard counts %d open sockets, want 3", got)
			}
			if !tc.reopen {
				return
			}
			_, _ = open[0].Write([]byte{0xe0, 0x00}) // DISCONNECT
			_ = open[0].Close()
			eventually(t, 10*time.Second, "a slot freed", func() bool { return b.guard.Open() == 2 })
			if _, ok := connectOrClosed(t, tc.kind, addr, "c4"); !ok {
				t.Fatal("connection refused after one closed")
			}
		})
	}
}
