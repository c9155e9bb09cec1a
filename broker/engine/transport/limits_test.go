package transport

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imqtt/imqtt/broker/listen"
)

// dialKind connects to a tcp or ws listener; for ws it does the upgrade and
// returns a stream of binary messages, or nil when the upgrade failed (a
// refused socket is closed before it).
func dialKind(t *testing.T, s *Server, name string) net.Conn {
	t.Helper()
	if name == "tcp" {
		return dial(t, s, name)
	}
	d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: 5 * time.Second}
	wc, resp, err := d.Dial("ws://"+s.Addr(name).String()+"/mqtt", nil)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil
	}
	t.Cleanup(func() { _ = wc.Close() })
	return &wsNetConn{Conn: wc}
}

// TestCountLimits: the Guard's count and rate limits on a tcp and a ws
// listener, as docs/operations.md says: on tcp a refused MQTT 5 client reads
// CONNACK 0x97 / 0x89 / 0x9F and a 3.1.1 client return code 3; on ws the socket
// is closed before the upgrade. Every refusal is counted, the refused sockets
// hold no slot, and closing one connection makes room again for the count limits.
func TestCountLimits(t *testing.T) {
	for _, tc := range []struct {
		name, listener, reason string
		lim                    func(*listen.Limits)
		reopen                 bool
		v5, v3                 int // code a refused client reads, -1: closed without one
	}{
		{"per ip tcp", "tcp", listen.ReasonPerIPConnections, func(l *listen.Limits) { l.PerIPConnections = 3 }, true, 0x97, 3},
		{"max conns tcp", "tcp", listen.ReasonMaxConnections, func(l *listen.Limits) { l.MaxConnections = 3 }, true, 0x89, 3},
		{"per ip rate tcp", "tcp", listen.ReasonPerIPRate, func(l *listen.Limits) { l.PerIPRate = 0.01; l.PerIPBurst = 3 }, false, 0x9f, 3},
		{"per ip ws", "ws", listen.ReasonPerIPConnections, func(l *listen.Limits) { l.PerIPConnections = 3 }, true, -1, -1},
		{"max conns ws", "ws", listen.ReasonMaxConnections, func(l *listen.Limits) { l.MaxConnections = 3 }, true, -1, -1},
		{"per ip rate ws", "ws", listen.ReasonPerIPRate, func(l *listen.Limits) { l.PerIPRate = 0.01; l.PerIPBurst = 3 }, false, -1, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := listen.DefaultLimits()
			tc.lim(&lim)
			cfg := testConfig()
			cfg.Listeners = []listen.Config{{Name: tc.listener, Kind: tc.listener, Address: "127.0.0.1:0"}}
			obs := newCountObs()
			h := newEcho(t)
			s := newTestServerObs(t, cfg, h, lim, obs)
			var open []net.Conn
			for i := range 3 {
				nc := dialKind(t, s, tc.listener)
				if nc == nil {
					t.Fatalf("connection %d refused below the limit", i)
				}
				if code := connackCode(t, nc, connectPacket(4, 0, fmt.Sprint("c", i))); code != 0 {
					t.Fatalf("connection %d: CONNACK %d", i, code)
				}
				open = append(open, nc)
			}
			for _, v := range []struct {
				level byte
				want  int
			}{{5, tc.v5}, {4, tc.v3}} {
				code := -1
				if nc := dialKind(t, s, tc.listener); nc != nil {
					code = connackCode(t, nc, connectPacket(v.level, 0, "over"))
				}
				if code != v.want {
					t.Fatalf("level %d over the limit: code %d, want %d", v.level, code, v.want)
				}
			}
			waitFor(t, "2 refusals counted", func() bool { return obs.rejectedFor(tc.reason) == 2 })
			if n := s.guard.Open(); n != 3 {
				t.Fatalf("guard counts %d open sockets, want 3", n)
			}
			if got := obs.acceptedOn(tc.listener); got != 3 {
				t.Fatalf("accepted %d, want 3", got)
			}
			if !tc.reopen {
				return
			}
			_ = open[0].Close()
			h.waitClosed(t)
			waitFor(t, "a slot freed", func() bool { return s.guard.Open() == 2 })
			nc := dialKind(t, s, tc.listener)
			if nc == nil || connackCode(t, nc, connectPacket(5, 0, "again")) != 0 {
				t.Fatal("refused after a connection closed")
			}
		})
	}
}

// TestFirstPacketLimits: before CONNECT the framer allows a packet of at most
// listen.Limits.MaxFirstPacket remaining bytes, judged on the header; a
// CONNECT of exactly that size passes, and after it the larger MaxPacketSize
// applies (even to a packet in the same write). Each refusal closes the
// socket without Open's connection getting a packet and is counted with its
// reason, on tcp and ws.
func TestFirstPacketLimits(t *testing.T) {
	const first = 1024
	lim := listen.DefaultLimits()
	lim.MaxFirstPacket = first
	cfg, _ := wsTestConfig(t)
	cfg.MaxPacketSize = 8 << 10
	obs := newCountObs()
	h := newEcho(t)
	s := newTestServerObs(t, cfg, h, lim, obs)

	// connectOf returns a 3.1.1 CONNECT whose remaining length is exactly rem.
	connectOf := func(rem int) []byte {
		pk := connectPacket(4, 0, string(make([]byte, rem-12)))
		if got := len(pk) - len(appendRemaining(nil, rem)) - 1; got != rem {
			t.Fatalf("test CONNECT has remaining length %d, want %d", got, rem)
		}
		return pk
	}
	for _, name := range []string{"tcp", "ws"} {
		for _, tc := range []struct {
			name   string
			send   []byte
			reason string
		}{
			{"one byte over", connectOf(first + 1), listen.ReasonFirstPacketSize},
			{"256 MiB announced", []byte{0x10, 0xff, 0xff, 0xff, 0x7f}, listen.ReasonFirstPacketSize},
			{"five length bytes", []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0x01}, listen.ReasonFirstPacketMalformed},
			{"publish first", []byte{0x30, 0x00}, listen.ReasonFirstPacketType},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				before := obs.rejectedFor(tc.reason)
				nc := dialKind(t, s, name)
				mustWrite(t, nc, tc.send)
				if tc.reason == listen.ReasonFirstPacketType {
					// The transport counts it; refusing it is the protocol
					// layer's job (the echo handler ignores it).
					waitFor(t, tc.reason+" counted", func() bool { return obs.rejectedFor(tc.reason) == before+1 })
					return
				}
				if err := readUntilClosed(nc); err != nil {
					t.Fatal(err)
				}
				waitFor(t, tc.reason+" counted", func() bool { return obs.rejectedFor(tc.reason) == before+1 })
			})
		}
		t.Run(name+"/at the limit passes, then MaxPacketSize", func(t *testing.T) {
			nc := dialKind(t, s, name)
			// CONNECT at the first-packet limit and, in the same write, a
			// PUBLISH larger than it but within MaxPacketSize.
			big := oversized(4 << 10)
			mustWrite(t, nc, append(connectOf(first), big...))
			_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			if got := readAll(t, nc, 4); got[0] != 0x20 || got[3] != 0 {
				t.Fatalf("connack % x", got)
			}
			mustWrite(t, nc, []byte{0xc0, 0})
			if got := readAll(t, nc, 2); got[0] != 0xd0 {
				t.Fatalf("pingresp % x", got)
			}
		})
	}
}

// readAll reads exactly n bytes of nc (any net.Conn, ws included).
func readAll(t *testing.T, nc net.Conn, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(nc, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

// readUntilClosed reads nc until it ends; an error if it is still open after 5 s.
func readUntilClosed(nc net.Conn) error {
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	for {
		_, err := nc.Read(buf)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return fmt.Errorf("still open after 5s")
		}
		return nil
	}
}

// TestHugeHeadersAllocateNothing: a client that announces a 256 MiB packet,
// as its first packet (MaxPacketSize off: only MaxFirstPacket bounds it) or
// after CONNECT (MaxPacketSize on), is closed from the header alone: 20 such
// clients together allocate far less than one body.
func TestHugeHeadersAllocateNothing(t *testing.T) {
	huge := []byte{0x10, 0xff, 0xff, 0xff, 0x7f}
	for _, tc := range []struct {
		name      string
		maxPacket int
		connect   bool
		reason    string
	}{
		{"first packet, no packet size limit", MaxPacketSizeLimit, false, listen.ReasonFirstPacketSize},
		{"after connect", 64 << 10, true, listen.ReasonPacketTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxPacketSize = tc.maxPacket
			obs := newCountObs()
			s := newTestServerObs(t, cfg, newEcho(t), listen.DefaultLimits(), obs)
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			for i := range 20 {
				nc := dial(t, s, "tcp")
				if tc.connect {
					mustWrite(t, nc, connectPacket(4, 0, fmt.Sprint("huge", i)))
					readN(t, nc, 4)
					huge[0] = 0x30
				}
				mustWrite(t, nc, huge)
				if err := readUntilClosed(nc); err != nil {
					t.Fatal(err)
				}
			}
			runtime.ReadMemStats(&m1)
			if grown := m1.TotalAlloc - m0.TotalAlloc; grown > 64<<20 {
				t.Fatalf("allocated %d MiB for 20 refused 256 MiB headers", grown>>20)
			}
			waitFor(t, "20 refusals counted", func() bool { return obs.rejectedFor(tc.reason) == 20 })
		})
	}
}
