package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/mochi-mqtt/server/v2/packets"
)

// gateHandler claims "h/..." topics. A publish whose payload is "wait"
// blocks until release is closed; "refuse" gets 0x99; others 0. It records
// what it handled, in order.
type gateHandler struct {
	release chan struct{}
	entered chan string

	mu      sync.Mutex
	handled []string
}

func newGateHandler() *gateHandler {
	return &gateHandler{release: make(chan struct{}), entered: make(chan string, 16)}
}

func (h *gateHandler) Claims(topic string) bool { return len(topic) > 2 && topic[:2] == "h/" }

func (h *gateHandler) Handle(ctx context.Context, c *ext.Client, p *ext.InboundPublish) ext.HandleResult {
	h.entered <- p.Topic
	if string(p.Payload) == "wait" {
		select {
		case <-h.release:
		case <-ctx.Done():
			return ext.HandleResult{Code: 0x80, Reason: "closed"}
		}
	}
	h.mu.Lock()
	h.handled = append(h.handled, c.ID+" "+p.Topic+" "+string(p.CorrelationData))
	h.mu.Unlock()
	if string(p.Payload) == "refuse" {
		return ext.HandleResult{Code: 0x99, Reason: "payload format invalid"}
	}
	return ext.HandleResult{}
}

func withHandler(h ext.PublishHandler) func(*Options) {
	return func(o *Options) { o.Handler = h }
}

// TestHandoffKeepsWorkersAndOrder: a claimed publish waiting in Handle holds
// no transport worker (another client on the engine's only worker is
// served meanwhile), the publisher's next packet waits (its PUBACK comes
// after the claimed one's), the claimed publish is not routed, and the
// handler's code reaches the v5 PUBACK.
func TestHandoffKeepsWorkersAndOrder(t *testing.T) {
	h := newGateHandler()
	te := newTestEngine(t, func(_ *Config, tc *transport.Config) { tc.Workers = 1 }, withHandler(h))
	sub := dialRaw(t, te.addr, 5)
	sub.connect("sub", true, nil)
	sub.subscribe("#", 0, nil)

	pub := dialRaw(t, te.addr, 5)
	pub.connect("pub", true, nil)
	pub.publish("h/1", "wait", 1, false, func(pk *packets.Packet) { pk.Properties.CorrelationData = []byte("c1") })
	pub.publish("n/1", "routed", 1, false, nil)
	select {
	case <-h.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("Handle not called")
	}

	// The only worker is free: another client connects, publishes, is acked.
	other := dialRaw(t, te.addr, 5)
	other.connect("other", true, nil)
	other.publish("n/2", "meanwhile", 1, false, nil)
	if a := other.expect(packets.Puback); a.ReasonCode != 0 {
		t.Fatalf("other's PUBACK 0x%02x", a.ReasonCode)
	}
	if m := sub.expect(packets.Publish); m.TopicName != "n/2" {
		t.Fatalf("subscriber got %s first, want n/2 (h/1 is not routed, n/1 waits)", m.TopicName)
	}
	if _, err := pub.tryRecv(200 * time.Millisecond); err == nil {
		t.Fatal("the publisher got a packet while its claimed publish was being handled")
	}

	close(h.release)
	if a := pub.expect(packets.Puback); a.PacketID != 1 || a.ReasonCode != 0 {
		t.Fatalf("first PUBACK: id %d code 0x%02x, want id 1 code 0", a.PacketID, a.ReasonCode)
	}
	if a := pub.expect(packets.Puback); a.PacketID != 2 || a.ReasonCode != 0 {
		t.Fatalf("second PUBACK: id %d code 0x%02x, want id 2 code 0", a.PacketID, a.ReasonCode)
	}
	if m := sub.expect(packets.Publish); m.TopicName != "n/1" {
		t.Fatalf("subscriber got %s, want n/1", m.TopicName)
	}
	h.mu.Lock()
	got := h.handled
	h.mu.Unlock()
	if len(got) != 1 || got[0] != "pub h/1 c1" {
		t.Fatalf("handled %q, want [pub h/1 c1]", got)
	}
}

// TestHandoffRefusals: a refused claimed publish carries the handler's
// code on a v5 PUBACK (with its Reason String) and PUBREC (and is not kept
// in flight: no PUBREL expected, the id is free); a 3.1.1 client gets plain
// acks; a QoS 0 one gets nothing; a publish the Authorizer denies is not
// handled (0x87).
func TestHandoffRefusals(t *testing.T) {
	h := newGateHandler()
	te := newTestEngine(t, nil, withHandler(h))
	te.acl.deny["h/denied"] = true

	c := dialRaw(t, te.addr, 5)
	c.connect("v5", true, nil)
	c.publish("h/1", "refuse", 1, false, nil)
	if a := c.expect(packets.Puback); a.ReasonCode != 0x99 || a.Properties.ReasonString != "payload format invalid" {
		t.Fatalf("v5 QoS 1 refusal: code 0x%02x reason %q", a.ReasonCode, a.Properties.ReasonString)
	}
	c.publish("h/2", "refuse", 2, false, nil)
	if a := c.expect(packets.Pubrec); a.ReasonCode != 0x99 {
		t.Fatalf("v5 QoS 2 refusal: PUBREC 0x%02x, want 0x99", a.ReasonCode)
	}
	waitFor(t, "refused QoS 2 id released", func() bool {
		s := te.current("v5").s
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.inQoS2) == 0
	})
	c.publish("h/3", "ok", 2, false, nil)
	rec := c.expect(packets.Pubrec)
	if rec.ReasonCode != 0 {
		t.Fatalf("v5 QoS 2 accepted: PUBREC 0x%02x", rec.ReasonCode)
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrel}, PacketID: rec.PacketID})
	c.expect(packets.Pubcomp)
	c.publish("h/denied", "ok", 1, false, nil)
	if a := c.expect(packets.Puback); a.ReasonCode != 0x87 {
		t.Fatalf("denied publish: PUBACK 0x%02x, want 0x87", a.ReasonCode)
	}

	old := dialRaw(t, te.addr, 4)
	old.connect("v311", true, nil)
	old.publish("h/4", "refuse", 1, false, nil)
	if a := old.expect(packets.Puback); a.ReasonCode != 0 {
		t.Fatalf("3.1.1 refusal: PUBACK code 0x%02x, want a plain PUBACK", a.ReasonCode)
	}
	old.publish("h/5", "refuse", 0, false, nil)
	old.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	old.expect(packets.Pingresp) // nothing before it for the QoS 0 publish

	h.mu.Lock()
	defer h.mu.Unlock()
	want := []string{"v5 h/1 ", "v5 h/2 ", "v5 h/3 ", "v311 h/4 ", "v311 h/5 "}
	if len(h.handled) != len(want) {
		t.Fatalf("handled %q, want %q", h.handled, want)
	}
	for i := range want {
		if h.handled[i] != want[i] {
			t.Fatalf("handled %q, want %q", h.handled, want)
		}
	}
}

// TestHandoffCloseEndsHandle: Close cancels the ctx of a Handle in
// progress and waits for it (the cleanup checks no goroutine is left).
func TestHandoffCloseEndsHandle(t *testing.T) {
	h := newGateHandler()
	te := newTestEngine(t, nil, withHandler(h))
	c := dialRaw(t, te.addr, 5)
	c.connect("c", true, nil)
	c.publish("h/1", "wait", 1, false, nil)
	<-h.entered
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := te.Close(ctx); err != nil {
		t.Fatalf("Close with a Handle in progress: %v", err)
	}
}
