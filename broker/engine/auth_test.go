package engine

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/mochi-mqtt/server/v2/packets"
)

// gateAuth is an Authenticator whose calls for users starting with "slow"
// block until release is closed or their ctx ends (then 0x8B, as an
// implementation that gives up at Close), for users starting with "idle"
// likewise but between ext.AuthIdle and its resume (the login throttle's
// way of waiting). After the gate a user containing "bad" is refused with
// 0x86; every other user is accepted with its name.
type gateAuth struct {
	allowAll
	release chan struct{}
	blocked atomic.Int32 // calls waiting at the gate now
}

func newGateAuth() *gateAuth { return &gateAuth{release: make(chan struct{})} }

func (g *gateAuth) Authenticate(ctx context.Context, r *ext.ConnectRequest) ext.AuthResult {
	u := r.Client.Username
	if strings.HasPrefix(u, "slow") || strings.HasPrefix(u, "idle") {
		if strings.HasPrefix(u, "idle") {
			defer ext.AuthIdle(ctx)()
		}
		g.blocked.Add(1)
		defer g.blocked.Add(-1)
		select {
		case <-g.release:
		case <-ctx.Done():
			return ext.AuthResult{Code: 0x8B, Reason: "shutdown"}
		}
	}
	if strings.Contains(u, "bad") {
		return ext.AuthResult{Code: 0x86, Reason: "bad_password"}
	}
	return ext.AuthResult{Identity: u}
}

// connectAs sends a v5 CONNECT of client id as user without reading the
// CONNACK.
func connectAs(t *testing.T, addr, id, user string) *raw {
	t.Helper()
	c := dialRaw(t, addr, 5)
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}}
	pk.Connect.ClientIdentifier, pk.Connect.Clean, pk.Connect.Keepalive = id, true, 60
	asUser(user)(&pk)
	c.send(pk)
	return c
}

// TestAuthenticateOffWorker: Authenticate (bcrypt, the login throttle's
// wait) does not run on a transport worker. With more CONNECTs blocked in
// it than there are workers, paho clients still connect and do a QoS 1
// round trip; the blocked ones get nothing until it answers, then their
// CONNACK, accepting or refusing, and a packet sent behind the CONNECT is
// answered after it; one closed meanwhile is never attached, and nothing is
// left (goroutine baseline at cleanup).
func TestAuthenticateOffWorker(t *testing.T) {
	const workers = 2
	users := []string{"slow-gone", "slow-a", "slow-b", "slow-bad-c", "slow-bad-d"}
	g := newGateAuth()
	te := newTestEngine(t, func(_ *Config, tc *transport.Config) { tc.Workers = workers },
		func(o *Options) { o.Auth = g })
	cs := make([]*raw, len(users))
	for i, u := range users {
		cs[i] = connectAs(t, te.addr, "id-"+u, u)
	}
	// A SUBSCRIBE right behind slow-a's CONNECT: read only after the CONNACK.
	cs[1].send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe}, PacketID: cs[1].nextID(),
		Filters: packets.Subscriptions{{Filter: "s/#", Qos: 1}}})
	waitFor(t, "every slow CONNECT in Authenticate", func() bool { return g.blocked.Load() == int32(len(users)) })

	pahoPubSub(t, te.addr, "free", 3*time.Second)

	cs[0].c.Close() // gone while Authenticate blocks
	for _, c := range cs[1:] {
		if pk, err := c.tryRecv(20 * time.Millisecond); err == nil {
			t.Fatalf("%s before Authenticate answered", packets.PacketNames[pk.FixedHeader.Type])
		}
	}
	close(g.release)
	if ca := cs[1].expect(packets.Connack); ca.ReasonCode != 0 {
		t.Fatalf("slow-a: CONNACK 0x%02x", ca.ReasonCode)
	}
	if sa := cs[1].expect(packets.Suback); len(sa.ReasonCodes) != 1 || sa.ReasonCodes[0] != 1 {
		t.Fatalf("slow-a: SUBACK %v", sa.ReasonCodes)
	}
	if ca := cs[2].expect(packets.Connack); ca.ReasonCode != 0 {
		t.Fatalf("slow-b: CONNACK 0x%02x", ca.ReasonCode)
	}
	if codes := cs[2].subscribe("s/#", 1, nil); codes[0] != 1 {
		t.Fatalf("slow-b: SUBACK %v", codes)
	}
	for _, c := range cs[3:] {
		if ca := c.expect(packets.Connack); ca.ReasonCode != 0x86 {
			t.Fatalf("refused: CONNACK 0x%02x, want 0x86", ca.ReasonCode)
		}
		c.expectClosed()
	}
	for _, u := range []string{"slow-bad-c", "slow-bad-d"} {
		if te.current("id-"+u) != nil {
			t.Fatalf("%s attached after a refusal", u)
		}
	}
	waitFor(t, "slow-gone's connection closed", func() bool { return te.gone.Load() >= 3 })
	waitFor(t, "slow-gone detached", func() bool { return te.current("id-slow-gone") == nil })
	cs[1].disconnectAndWait()
	cs[2].disconnectAndWait()
}

// TestAuthenticateBounded: at most authSlotsPerCPU x GOMAXPROCS calls run
// at once; the CONNECTs beyond wait in order and run as slots free. A call
// waiting between ext.AuthIdle and its resume holds no slot: with every
// slot's worth of them waiting, a client still connects and does a QoS 1
// round trip.
func TestAuthenticateBounded(t *testing.T) {
	slots := authSlotsPerCPU * runtime.GOMAXPROCS(0)
	g := newGateAuth()
	te := newTestEngine(t, nil, func(o *Options) { o.Auth = g })

	var cs []*raw
	for i := range slots + 3 {
		cs = append(cs, connectAs(t, te.addr, fmt.Sprintf("id-%d", i), fmt.Sprintf("slow-%d", i)))
	}
	waitFor(t, "every slot taken, 3 queued", func() bool {
		te.authp.mu.Lock()
		defer te.authp.mu.Unlock()
		return len(te.authp.queue) == 3 && te.authp.free == 0
	})
	if n := g.blocked.Load(); n != int32(slots) {
		t.Fatalf("%d calls in Authenticate, want %d (the bound)", n, slots)
	}
	close(g.release)
	for i, c := range cs {
		if ca := c.expect(packets.Connack); ca.ReasonCode != 0 {
			t.Fatalf("slow-%d: CONNACK 0x%02x", i, ca.ReasonCode)
		}
	}

	// Idle waits give their slots up.
	g2 := newGateAuth()
	te2 := newTestEngine(t, nil, func(o *Options) { o.Auth = g2 })
	var idle []*raw
	for i := range slots + 3 {
		idle = append(idle, connectAs(t, te2.addr, fmt.Sprintf("id-%d", i), fmt.Sprintf("idle-%d", i)))
	}
	waitFor(t, "every idle call waiting", func() bool { return g2.blocked.Load() == int32(slots+3) })
	pahoPubSub(t, te2.addr, "free", 3*time.Second)
	close(g2.release)
	for i, c := range idle {
		if ca := c.expect(packets.Connack); ca.ReasonCode != 0 {
			t.Fatalf("idle-%d: CONNACK 0x%02x", i, ca.ReasonCode)
		}
	}
	waitFor(t, "every slot free again", func() bool {
		te2.authp.mu.Lock()
		defer te2.authp.mu.Unlock()
		return te2.authp.free == slots && len(te2.authp.waiters) == 0
	})
}

// TestAuthenticateCloseWhileBlocked: Engine.Close while CONNECTs wait in
// Authenticate, in a slot, idle, or queued for a slot, ends the ctx they
// get; every one is refused (0x8B, or closed before it is written), Close
// returns in time and no goroutine is left (cleanup).
func TestAuthenticateCloseWhileBlocked(t *testing.T) {
	slots := authSlotsPerCPU * runtime.GOMAXPROCS(0)
	g := newGateAuth()
	te := newTestEngine(t, func(_ *Config, tc *transport.Config) { tc.Workers = 1 },
		func(o *Options) { o.Auth = g })
	var cs []*raw
	for i := range 2 {
		cs = append(cs, connectAs(t, te.addr, fmt.Sprintf("idle-%d", i), fmt.Sprintf("idle-%d", i)))
	}
	waitFor(t, "the idle calls", func() bool { return g.blocked.Load() == 2 })
	for i := range slots + 2 {
		cs = append(cs, connectAs(t, te.addr, fmt.Sprintf("slow-%d", i), fmt.Sprintf("slow-%d", i)))
	}
	waitFor(t, "every slot taken, 2 queued", func() bool {
		te.authp.mu.Lock()
		defer te.authp.mu.Unlock()
		return len(te.authp.queue) == 2
	})
	start := time.Now()
	te.stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
	for _, c := range cs {
		if pk, err := c.tryRecv(5 * time.Second); err == nil && (pk.FixedHeader.Type != packets.Connack || pk.ReasonCode != 0x8B) {
			t.Fatalf("got %s 0x%02x, want CONNACK 0x8B or a close", packets.PacketNames[pk.FixedHeader.Type], pk.ReasonCode)
		}
		c.expectClosed()
	}
	if n := len(te.sessions); n != 0 {
		t.Fatalf("%d sessions after Close, want none", n)
	}
}
