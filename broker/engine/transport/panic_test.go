package transport

import (
	"strings"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/broker/listen"
)

// panicHandler is the echo handler, except that a PUBLISH panics.
type panicHandler struct{ *echoHandler }

func (h panicHandler) Packet(b *Batch, c *Conn, fh packets.FixedHeader, body []byte) error {
	if fh.Type == packets.Publish {
		panic("extension bug")
	}
	return h.echoHandler.Packet(b, c, fh, body)
}

// TestHandlerPanicContained: a panic in the Handler on a worker (in the
// engine: an extension such as an Authenticator, see the engine's
// TestAuthenticatorPanicContained) closes only that connection, with the
// panic as its cause, is reported to the Guard's Observer
// (imqtt_panics_recovered_total), and the worker keeps serving: the other
// connection and a new one still get answers. Workers is 1 so the same
// worker serves them.
func TestHandlerPanicContained(t *testing.T) {
	cfg, _ := wsTestConfig(t)
	cfg.Workers = 1
	obs := newCountObs()
	h := newEcho(t)
	s := newTestServerObs(t, cfg, panicHandler{h}, listen.DefaultLimits(), obs)
	other := dial(t, s, "tcp")
	mustWrite(t, other, connectPacket(4, 0, "other"))
	readN(t, other, 4)
	for i, name := range []string{"tcp", "ws"} {
		nc := dialKind(t, s, name)
		mustWrite(t, nc, connectPacket(4, 0, "victim"))
		readAll(t, nc, 4)
		mustWrite(t, nc, oversized(10))
		if err := readUntilClosed(nc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ev := h.waitClosed(t)
		if ev.cause == nil || !strings.Contains(ev.cause.Error(), "extension bug") {
			t.Fatalf("%s: close cause %v, want the panic", name, ev.cause)
		}
		waitFor(t, "the panic counted", func() bool { return obs.panicsOn(name) == 1 })
		if n := obs.panicsOn("tcp") + obs.panicsOn("ws"); n != i+1 {
			t.Fatalf("%d panics counted, want %d", n, i+1)
		}
	}
	mustWrite(t, other, []byte{0xc0, 0})
	if got := readN(t, other, 2); got[0] != 0xd0 {
		t.Fatalf("pingresp % x", got)
	}
	nc := dial(t, s, "tcp")
	mustWrite(t, nc, connectPacket(5, 0, "after"))
	if got := readN(t, nc, 5); got[0] != 0x20 {
		t.Fatalf("connack % x", got)
	}
}
