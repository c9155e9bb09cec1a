package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/hooks/ext"
)

// expiringAuth accepts every CONNECT; a user "exp{N}ms..." gets credentials
// expiring N ms from the CONNECT, and the token id "tok-" + user.
type expiringAuth struct{ allowAll }

func (a *expiringAuth) Authenticate(_ context.Context, r *ext.ConnectRequest) ext.AuthResult {
	u := r.Client.Username
	res := ext.AuthResult{Identity: u, TokenID: "tok-" + u}
	if rest, ok := strings.CutPrefix(u, "exp"); ok {
		ms, _, _ := strings.Cut(rest, "ms")
		d, _ := time.ParseDuration(ms + "ms")
		res.ExpiresAt = time.Now().Add(d).UnixMilli()
	}
	return res
}

func newExpiryEngine(t *testing.T) *testEngine {
	a := &expiringAuth{}
	return newTestEngine(t, nil, func(o *Options) { o.Auth = a })
}

// TestCredentialsExpire: a v5 client is sent DISCONNECT 0xA0 when its
// credentials expire, not before; a 3.1.1 client is closed; a client
// without an expiry stays.
func TestCredentialsExpire(t *testing.T) {
	te := newExpiryEngine(t)
	v5 := dialRaw(t, te.addr, 5)
	start := time.Now()
	if ack := v5.connect("c5", true, asUser("exp1200ms-a")); ack.ReasonCode != 0 {
		t.Fatalf("connack 0x%02x", ack.ReasonCode)
	}
	v3 := dialRaw(t, te.addr, 4)
	if ack := v3.connect("c3", true, asUser("exp1200ms-b")); ack.ReasonCode != 0 {
		t.Fatalf("connack 0x%02x", ack.ReasonCode)
	}
	stay := dialRaw(t, te.addr, 5)
	stay.connect("stay", true, asUser("forever"))

	pk := v5.expect(packets.Disconnect)
	if pk.ReasonCode != 0xA0 {
		t.Fatalf("disconnect 0x%02x, want 0xA0", pk.ReasonCode)
	}
	if d := time.Since(start); d < 1200*time.Millisecond {
		t.Fatalf("closed after %s, before the expiry", d)
	}
	v5.expectClosed()
	v3.expectClosed()
	if _, ok := te.Client("stay"); !ok {
		t.Fatal("client without expiry closed")
	}
	waitFor(t, "wheel empty", func() bool {
		te.mu.Lock()
		defer te.mu.Unlock()
		return len(te.expiring) == 0
	})
}

// TestExpiryForgottenAtClose: a connection that ends first leaves nothing
// in the wheel.
func TestExpiryForgottenAtClose(t *testing.T) {
	te := newExpiryEngine(t)
	c := dialRaw(t, te.addr, 5)
	c.connect("gone", true, asUser("exp3600000ms"))
	te.mu.Lock()
	n := len(te.expiring)
	te.mu.Unlock()
	if n != 1 {
		t.Fatalf("wheel has %d buckets, want 1", n)
	}
	c.disconnectAndWait()
	waitFor(t, "wheel empty", func() bool {
		te.mu.Lock()
		defer te.mu.Unlock()
		return len(te.expiring) == 0
	})
}

// TestDisconnectWhere closes the matching clients only, v5 with the code.
func TestDisconnectWhere(t *testing.T) {
	te := newExpiryEngine(t)
	a := dialRaw(t, te.addr, 5)
	a.connect("a", true, asUser("alice"))
	b := dialRaw(t, te.addr, 4)
	b.connect("b", true, asUser("alice"))
	c := dialRaw(t, te.addr, 5)
	c.connect("c", true, asUser("carol"))
	n := te.DisconnectWhere(func(cl *ext.Client) bool { return cl.TokenID == "tok-alice" }, packets.ErrAdministrativeAction)
	if n != 2 {
		t.Fatalf("closed %d, want 2", n)
	}
	if pk := a.expect(packets.Disconnect); pk.ReasonCode != 0x98 {
		t.Fatalf("disconnect 0x%02x", pk.ReasonCode)
	}
	a.expectClosed()
	b.expectClosed()
	if _, ok := te.Client("c"); !ok {
		t.Fatal("carol closed")
	}
	if n := te.DisconnectWhere(func(cl *ext.Client) bool { return cl.TokenID == "none" }, packets.ErrAdministrativeAction); n != 0 {
		t.Fatalf("closed %d, want 0", n)
	}
}
