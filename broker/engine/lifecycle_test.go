package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/mochi-mqtt/server/v2/packets"
)

// lifeRecorder is a Lifecycle that records its calls and refuses client
// ids listed in refuse with 0x97.
type lifeRecorder struct {
	mu     sync.Mutex
	calls  []string
	refuse map[string]bool
}

func (l *lifeRecorder) Connected(_ context.Context, c *ext.Client) byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fmt.Sprintf("+%s/%s", c.Username, c.ID))
	if l.refuse[c.ID] {
		return 0x97
	}
	return 0
}

func (l *lifeRecorder) Disconnected(c *ext.Client) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fmt.Sprintf("-%s/%s", c.Username, c.ID))
}

func (l *lifeRecorder) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// waitCalls polls until the recorder holds want, in order.
func (l *lifeRecorder) waitCalls(t *testing.T, want ...string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("lifecycle calls %q", want), func() bool { return slices.Equal(l.got(), want) })
}

// waitCallsAnyOrder is waitCalls for calls of different client ids or
// connections whose order is not fixed.
func (l *lifeRecorder) waitCallsAnyOrder(t *testing.T, want ...string) {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	waitFor(t, fmt.Sprintf("lifecycle calls %q", want), func() bool {
		got := l.got()
		slices.Sort(got)
		return slices.Equal(got, want)
	})
}

func asUser(u string) func(*packets.Packet) {
	return func(pk *packets.Packet) { pk.Connect.Username, pk.Connect.UsernameFlag = []byte(u), true }
}

// TestLifecycle: Connected before the CONNACK (a refusal is the CONNACK's
// code, 3.1.1 mapped, and no Disconnected follows), Disconnected once per
// accepted connection, none for a takeover by the same user's device, none
// for another user's refused CONNECT.
func TestLifecycle(t *testing.T) {
	l := &lifeRecorder{refuse: map[string]bool{"capped": true, "capped3": true}}
	te := newTestEngine(t, nil, func(o *Options) { o.Lifecycle = l })

	c := dialRaw(t, te.addr, 5)
	if ca := c.connect("capped", true, asUser("bob")); ca.ReasonCode != 0x97 {
		t.Fatalf("refused v5: CONNACK 0x%02x, want 0x97", ca.ReasonCode)
	}
	c.expectClosed()
	c3 := dialRaw(t, te.addr, 4)
	if ca := c3.connect("capped3", true, asUser("bob")); ca.ReasonCode != 3 {
		t.Fatalf("refused 3.1.1: CONNACK return code %d, want 3", ca.ReasonCode)
	}
	c3.expectClosed()
	l.waitCallsAnyOrder(t, "+bob/capped", "+bob/capped3")
	if te.current("capped") != nil || te.current("capped3") != nil {
		t.Fatal("a refused connection is still attached")
	}

	// A normal connection and DISCONNECT: one call each.
	a := dialRaw(t, te.addr, 5)
	a.connect("dev", true, asUser("bob"))
	a.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	a.expectClosed()
	l.waitCalls(t, "+bob/capped", "+bob/capped3", "+bob/dev", "-bob/dev")

	// A takeover by the same user: the old connection's end is not reported.
	b1 := dialRaw(t, te.addr, 5)
	b1.connect("dev", true, asUser("bob"))
	b2 := dialRaw(t, te.addr, 5)
	b2.connect("dev", true, asUser("bob"))
	if d := b1.expect(packets.Disconnect); d.ReasonCode != 0x8E {
		t.Fatalf("taken over: DISCONNECT 0x%02x", d.ReasonCode)
	}
	b1.expectClosed()
	base := []string{"+bob/capped", "+bob/capped3", "+bob/dev", "-bob/dev", "+bob/dev", "+bob/dev"}
	l.waitCalls(t, base...)

	// Another user cannot take the client id (bounds.go): refused before
	// Connected is asked, and bob's device stays until it leaves.
	e1 := dialRaw(t, te.addr, 5)
	if ca := e1.connect("dev", true, asUser("eve")); ca.ReasonCode != 0x87 {
		t.Fatalf("eve over bob's live session: CONNACK 0x%02x, want 0x87", ca.ReasonCode)
	}
	e1.expectClosed()
	b2.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	b2.expectClosed()
	l.waitCalls(t, append(base, "-bob/dev")...)
}
