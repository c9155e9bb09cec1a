package engine

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Durable sessions over a test store (memstore_test.go): a "restart" is a
// new Engine (and transport) over the same store.

// v5Persistent is a CONNECT mutation: MQTT 5, session expiry 1 hour.
func v5Persistent(pk *packets.Packet) {
	pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 3600, true
}

// settle waits until the engine has no store write queued or running.
func settle(t *testing.T, e *Engine) {
	t.Helper()
	waitFor(t, "store writes", func() bool {
		e.wmu.Lock()
		defer e.wmu.Unlock()
		return e.wrun == 0
	})
}

// offlineSubscriber makes id a durable v5 session subscribed to filter at
// qos, then disconnects it and waits for its record to say so.
func offlineSubscriber(t *testing.T, te *testEngine, st *memStore, id, filter string, qos byte) {
	t.Helper()
	c := dialRaw(t, te.addr, 5)
	if ack := c.connect(id, false, v5Persistent); ack.ReasonCode != 0 {
		t.Fatalf("CONNACK 0x%02x", ack.ReasonCode)
	}
	if codes := c.subscribe(filter, qos, nil); codes[0] != qos {
		t.Fatalf("SUBACK %v", codes)
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	c.expectClosed()
	waitFor(t, "disconnected record", func() bool {
		r, ok := st.session(id)
		return ok && r.DisconnectedAt != 0
	})
}

// publishAcked publishes from a clean v5 client and completes each flow.
func publishAcked(t *testing.T, addr string, msgs ...[2]string) {
	t.Helper()
	p := dialRaw(t, addr, 5)
	p.connect("", true, nil)
	for _, m := range msgs {
		qos := m[0][0] - '0'
		p.publish(m[0][1:], m[1], qos, false, nil)
		switch qos {
		case 1:
			if a := p.expect(packets.Puback); a.ReasonCode >= 0x80 {
				t.Fatalf("PUBACK 0x%02x", a.ReasonCode)
			}
		case 2:
			if a := p.expect(packets.Pubrec); a.ReasonCode >= 0x80 {
				t.Fatalf("PUBREC 0x%02x", a.ReasonCode)
			}
			p.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrel}, PacketID: p.id})
			p.expect(packets.Pubcomp)
		}
	}
	p.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	p.expectClosed()
}

type seen struct {
	payload string
	qos     byte
	id      uint16
	dup     bool
}

func recvPublishes(t *testing.T, c *raw, n int) []seen {
	t.Helper()
	var out []seen
	for len(out) < n {
		pk := c.expect(packets.Publish)
		out = append(out, seen{string(pk.Payload), pk.FixedHeader.Qos, pk.PacketID, pk.FixedHeader.Dup})
	}
	return out
}

// TestDurableQueueSurvivesRestart: QoS 1 and 2 messages queued for an
// offline session are delivered after a restart in order, DUP=0, packet id
// from the seq; re-sent unacknowledged they keep their ids (DUP=1 within
// the process, DUP=0 after another restart); acknowledged they leave the
// queue.
func TestDurableQueueSurvivesRestart(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	offlineSubscriber(t, te, st, "dsub", "d/#", 2)
	publishAcked(t, te.addr, [2]string{"1d/1", "m1"}, [2]string{"2d/2", "m2"}, [2]string{"1d/3", "m3"})
	waitFor(t, "queued", func() bool { return st.queueLen("dsub") == 3 })
	te.stop()

	want := []seen{{"m1", 1, ext.PacketIDFor(1), false}, {"m2", 2, ext.PacketIDFor(2), false}, {"m3", 1, ext.PacketIDFor(3), false}}
	check := func(got []seen, dup bool) {
		t.Helper()
		for i := range want {
			w := want[i]
			w.dup = dup
			if got[i] != w {
				t.Fatalf("message %d: got %+v, want %+v (all: %+v)", i, got[i], w, got)
			}
		}
	}
	te2 := newStoreEngine(t, st, nil)
	c := dialRaw(t, te2.addr, 5)
	if ack := c.connect("dsub", false, v5Persistent); !ack.SessionPresent {
		t.Fatal("session not present after restart")
	}
	check(recvPublishes(t, c, 3), false)
	c.c.Close() // unacknowledged

	c = dialRaw(t, te2.addr, 5)
	c.connect("dsub", false, v5Persistent)
	check(recvPublishes(t, c, 3), true) // this process wrote them: DUP=1
	c.c.Close()
	waitFor(t, "detached", func() bool { r, _ := st.session("dsub"); return r.DisconnectedAt != 0 })
	te2.stop()

	te3 := newStoreEngine(t, st, nil)
	c = dialRaw(t, te3.addr, 5)
	c.connect("dsub", false, v5Persistent)
	check(recvPublishes(t, c, 3), false) // a new process: DUP=0, same ids
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: want[0].id})
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrec}, PacketID: want[1].id})
	c.expect(packets.Pubrel)
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubcomp}, PacketID: want[1].id})
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: want[2].id})
	waitFor(t, "dequeued", func() bool { return st.queueLen("dsub") == 0 })
	st.mu.Lock()
	rel := len(st.released["dsub"])
	st.mu.Unlock()
	if rel != 0 {
		t.Fatalf("%d released ids left after PUBCOMP", rel)
	}
}

// TestDurablePubrecResumesWithPubrel: a PUBREC'd message resumes after a
// restart with PUBREL, not PUBLISH.
func TestDurablePubrecResumesWithPubrel(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	offlineSubscriber(t, te, st, "rsub", "r/#", 2)
	publishAcked(t, te.addr, [2]string{"2r/1", "x"})
	c := dialRaw(t, te.addr, 5)
	c.connect("rsub", false, v5Persistent)
	pk := c.expect(packets.Publish)
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrec}, PacketID: pk.PacketID})
	if rel := c.expect(packets.Pubrel); rel.PacketID != pk.PacketID {
		t.Fatalf("PUBREL %d, want %d", rel.PacketID, pk.PacketID)
	}
	c.c.Close()
	te.stop()

	te2 := newStoreEngine(t, st, nil)
	c = dialRaw(t, te2.addr, 5)
	c.connect("rsub", false, v5Persistent)
	if rel := c.expect(packets.Pubrel); rel.PacketID != pk.PacketID {
		t.Fatalf("PUBREL %d after restart, want %d", rel.PacketID, pk.PacketID)
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubcomp}, PacketID: pk.PacketID})
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	c.expect(packets.Pingresp) // no PUBLISH before it
	waitFor(t, "completed", func() bool {
		f, _ := st.Flights("rsub")
		return len(f.Released) == 0
	})
}

// TestDurablePublishRefused: a refused store write is answered 0x80 (0x97
// for a full disk), nothing of it reaches the durable session, and a 3.1.1
// publisher is disconnected.
func TestDurablePublishRefused(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	offlineSubscriber(t, te, st, "fsub", "f/#", 1)
	st.mu.Lock()
	st.failPublish = errStoreDown
	st.mu.Unlock()
	p := dialRaw(t, te.addr, 5)
	p.connect("", true, nil)
	p.publish("f/1", "lost", 1, false, nil)
	if a := p.expect(packets.Puback); a.ReasonCode != 0x80 {
		t.Fatalf("PUBACK 0x%02x, want 0x80", a.ReasonCode)
	}
	p.publish("f/2", "lost2", 2, false, nil)
	if a := p.expect(packets.Pubrec); a.ReasonCode != 0x80 {
		t.Fatalf("PUBREC 0x%02x, want 0x80", a.ReasonCode)
	}
	st.mu.Lock()
	st.failPublish = fmt.Errorf("full: %w", ext.ErrDiskFull)
	st.mu.Unlock()
	p.publish("f/3", "lost3", 1, false, nil)
	if a := p.expect(packets.Puback); a.ReasonCode != 0x97 {
		t.Fatalf("PUBACK 0x%02x, want 0x97", a.ReasonCode)
	}
	p3 := dialRaw(t, te.addr, 4)
	p3.connect("p311", true, nil)
	p3.publish("f/4", "lost4", 1, false, nil)
	p3.expectClosed()

	st.mu.Lock()
	st.failPublish = nil
	st.mu.Unlock()
	p.publish("f/5", "ok", 1, false, nil)
	if a := p.expect(packets.Puback); a.ReasonCode != 0 {
		t.Fatalf("PUBACK 0x%02x after recovery", a.ReasonCode)
	}
	c := dialRaw(t, te.addr, 5)
	c.connect("fsub", false, v5Persistent)
	if got := recvPublishes(t, c, 1)[0]; got.payload != "ok" {
		t.Fatalf("first message %q, want ok", got.payload)
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	c.expect(packets.Pingresp)
	if n := st.queueLen("fsub"); n != 1 {
		t.Fatalf("queue holds %d, want 1", n)
	}
}

// TestDurablePauseKeepsAcksInOrder: while a durable publish is being
// written, the publisher's next PUBLISH (which needs no write) is not
// acknowledged before it [MQTT-4.6.0-2].
func TestDurablePauseKeepsAcksInOrder(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	offlineSubscriber(t, te, st, "osub", "o/#", 1)
	p := dialRaw(t, te.addr, 5)
	p.connect("", true, nil)
	st.hold()
	var both []byte
	for i, topic := range []string{"o/1", "nobody/1"} {
		b, err := encodeClient(packets.Packet{ProtocolVersion: 5, FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: topic, PacketID: uint16(i + 1), Payload: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		both = append(both, b...)
	}
	p.write(both) // one segment: one read batch
	waitFor(t, "held write", func() bool { return st.waitingWrites() == 1 })
	st.open()
	if a := p.expect(packets.Puback); a.PacketID != 1 {
		t.Fatalf("first PUBACK for %d, want 1", a.PacketID)
	}
	if a := p.expect(packets.Puback); a.PacketID != 2 {
		t.Fatalf("second PUBACK for %d, want 2", a.PacketID)
	}
}

// TestDurableWritesSerialised: a session's record writes never overlap, and
// a DISCONNECT followed at once by a reconnect (or a takeover) leaves the
// record connected.
func TestDurableWritesSerialised(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	for i := range 10 {
		c := dialRaw(t, te.addr, 5)
		c.connect("ssub", false, v5Persistent)
		c.subscribe(fmt.Sprintf("s/%d", i), 1, nil)
		if i%2 == 0 {
			c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
		} // odd: the next CONNECT takes it over
	}
	// With the store held, the DISCONNECT's write waits; the reconnect's
	// must queue behind it, not run beside it.
	settle(t, te.Engine)
	prev := dialRaw(t, te.addr, 5)
	prev.connect("ssub", false, v5Persistent)
	settle(t, te.Engine)
	st.hold()
	prev.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	waitFor(t, "held disconnect write", func() bool { return st.waitingWrites() == 1 })
	last := dialRaw(t, te.addr, 5)
	last.send(packets.Packet{ProtocolVersion: 5, FixedHeader: packets.FixedHeader{Type: packets.Connect},
		Connect:    packets.ConnectParams{ClientIdentifier: "ssub", Keepalive: 60},
		Properties: packets.Properties{SessionExpiryInterval: 3600, SessionExpiryIntervalFlag: true}})
	waitFor(t, "reattached", func() bool {
		te.mu.Lock()
		s := te.sessions["ssub"]
		te.mu.Unlock()
		return s != nil && s.online.Load()
	})
	st.open()
	last.expect(packets.Connack)
	settle(t, te.Engine)
	if n := st.overlaps(); n != 0 {
		t.Fatalf("%d overlapping writes of one session", n)
	}
	r, ok := st.session("ssub")
	if !ok || r.DisconnectedAt != 0 {
		t.Fatalf("record %+v (found %v), want connected", r, ok)
	}
	st.mu.Lock()
	n := len(st.subs["ssub"])
	st.mu.Unlock()
	if n != 10 {
		t.Fatalf("%d stored subscriptions, want 10", n)
	}
}

// TestDurableCleanStartDeletes: a clean start over a stored session deletes
// it before the CONNACK; a refused session write refuses the CONNECT.
func TestDurableCleanStartDeletes(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	offlineSubscriber(t, te, st, "csub", "c/#", 1)
	c := dialRaw(t, te.addr, 5)
	if ack := c.connect("csub", true, nil); ack.SessionPresent {
		t.Fatal("session present after clean start")
	}
	if _, ok := st.session("csub"); ok {
		t.Fatal("record left after clean start with expiry 0")
	}
	st.mu.Lock()
	st.failPut = errStoreDown
	st.mu.Unlock()
	c2 := dialRaw(t, te.addr, 4)
	if ack := c2.connect("c311", false, nil); ack.ReasonCode != 3 {
		t.Fatalf("CONNACK %d, want 3", ack.ReasonCode)
	}
	c2.expectClosed()
	c5 := dialRaw(t, te.addr, 5)
	if ack := c5.connect("c5", false, v5Persistent); ack.ReasonCode != 0x80 {
		t.Fatalf("CONNACK 0x%02x, want 0x80", ack.ReasonCode)
	}
	c5.expectClosed()
}

// TestDurableWillAfterRestart: a session the node lost while connected
// publishes its stored will after the restart.
func TestDurableWillAfterRestart(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	w := dialRaw(t, te.addr, 5)
	w.connect("wsub", false, func(pk *packets.Packet) {
		v5Persistent(pk)
		pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillPayload, pk.Connect.WillQos = true, "will/w", []byte("gone"), 1
	})
	offlineSubscriber(t, te, st, "wl", "will/#", 1)
	settle(t, te.Engine)
	// A crash: the record still says connected.
	st.mu.Lock()
	st.sessions["wsub"] = func() ext.Session { r := st.sessions["wsub"]; r.DisconnectedAt = 0; return r }()
	st.mu.Unlock()
	te2 := newStoreEngine(t, st, nil)
	waitFor(t, "will queued", func() bool { return st.queueLen("wl") == 1 })
	r, _ := st.session("wsub")
	if r.DisconnectedAt == 0 {
		t.Fatal("lost session still connected after the restart")
	}
	c := dialRaw(t, te2.addr, 5)
	c.connect("wl", false, v5Persistent)
	if got := recvPublishes(t, c, 1)[0]; got.payload != "gone" {
		t.Fatalf("got %q, want the will", got.payload)
	}
}

// TestDurablePahoOrder: a paho client resuming after a restart reads the
// queued QoS 1 and 2 messages in order.
func TestDurablePahoOrder(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	offlineSubscriber(t, te, st, "psub", "p/#", 2)
	var msgs [][2]string
	for i := range 20 {
		msgs = append(msgs, [2]string{fmt.Sprintf("%dp/%d", 1+i%2, i), fmt.Sprint(i)})
	}
	publishAcked(t, te.addr, msgs...)
	te.stop()
	te2 := newStoreEngine(t, st, nil)

	conn, err := net.Dial("tcp", te2.addr)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *paho.Publish, 64)
	pc := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: "psub",
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			got <- pr.Packet
			return true, nil
		}}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ca, err := pc.Connect(ctx, &paho.Connect{ClientID: "psub", KeepAlive: 0, Properties: &paho.ConnectProperties{SessionExpiryInterval: uint32Ptr(3600)}})
	if err != nil || !ca.SessionPresent {
		t.Fatalf("connect: %v (present %v)", err, ca != nil && ca.SessionPresent)
	}
	defer pc.Disconnect(&paho.Disconnect{})
	for i := range 20 {
		select {
		case m := <-got:
			if string(m.Payload) != fmt.Sprint(i) || m.QoS != byte(1+i%2) {
				t.Fatalf("message %d: %q qos %d", i, m.Payload, m.QoS)
			}
		case <-ctx.Done():
			t.Fatalf("message %d not received", i)
		}
	}
	waitFor(t, "queue drained", func() bool { return st.queueLen("psub") == 0 })
}

func uint32Ptr(v uint32) *uint32 { return &v }

// TestDurableInboundQoS2AfterRestart: a durable publisher's QoS 2 id is
// stored with its message, so the PUBLISH re-sent after a restart is not
// delivered again [MQTT-4.3.3-10]; its PUBREL forgets the id.
func TestDurableInboundQoS2AfterRestart(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	offlineSubscriber(t, te, st, "isub", "i/#", 2)
	p := dialRaw(t, te.addr, 5)
	p.connect("ipub", false, v5Persistent)
	p.publish("i/1", "once", 2, false, nil)
	p.expect(packets.Pubrec)
	p.c.Close()
	waitFor(t, "detached", func() bool { r, _ := st.session("ipub"); return r.DisconnectedAt != 0 })
	te.stop()

	te2 := newStoreEngine(t, st, nil)
	p = dialRaw(t, te2.addr, 5)
	p.connect("ipub", false, v5Persistent)
	p.publish("i/1", "once", 2, false, func(pk *packets.Packet) { pk.PacketID, pk.FixedHeader.Dup = 1, true })
	p.expect(packets.Pubrec)
	p.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrel}, PacketID: 1})
	if pc := p.expect(packets.Pubcomp); pc.ReasonCode != 0 {
		t.Fatalf("PUBCOMP 0x%02x", pc.ReasonCode)
	}
	if f, _ := st.Flights("ipub"); len(f.Inbound) != 0 {
		t.Fatalf("inbound ids left: %v", f.Inbound)
	}
	if n := st.queueLen("isub"); n != 1 {
		t.Fatalf("subscriber queue holds %d, want 1", n)
	}
}

// TestDurableCloseBoundedByCtx: Close waits for store writes in flight; a
// write that does not finish is cut when Close's ctx ends (the store sees
// its ctx cancelled), and no goroutine is left (the cleanup checks).
func TestDurableCloseBoundedByCtx(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	offlineSubscriber(t, te, st, "xsub", "x/#", 1)
	p := dialRaw(t, te.addr, 5)
	p.connect("", true, nil)
	st.hold()
	p.publish("x/1", "held", 1, false, nil)
	waitFor(t, "held write", func() bool { return st.waitingWrites() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := te.Close(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Close: %v, want %v", err, context.DeadlineExceeded)
	}
	waitFor(t, "write cut", func() bool { return st.waitingWrites() == 0 })
	settle(t, te.Engine)
	st.open()
}

// TestDurableCleanStartAfterCopies: a clean start deletes the old session
// only after the publishes already routed to it are written, so none of
// their copies is left in the store for the new session.
func TestDurableCleanStartAfterCopies(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	offlineSubscriber(t, te, st, "gsub", "g/#", 1)
	p := dialRaw(t, te.addr, 5)
	p.connect("", true, nil)
	st.hold()
	p.publish("g/1", "old", 1, false, nil)
	waitFor(t, "held publish", func() bool { return st.waitingWrites() == 1 })
	c := dialRaw(t, te.addr, 5)
	c.send(packets.Packet{ProtocolVersion: 5, FixedHeader: packets.FixedHeader{Type: packets.Connect},
		Connect:    packets.ConnectParams{ClientIdentifier: "gsub", Keepalive: 60, Clean: true},
		Properties: packets.Properties{SessionExpiryInterval: 3600, SessionExpiryIntervalFlag: true}})
	waitFor(t, "attached", func() bool {
		te.mu.Lock()
		s := te.sessions["gsub"]
		te.mu.Unlock()
		return s != nil && s.online.Load()
	})
	st.open()
	if ack := c.expect(packets.Connack); ack.SessionPresent || ack.ReasonCode != 0 {
		t.Fatalf("CONNACK present %v 0x%02x", ack.SessionPresent, ack.ReasonCode)
	}
	p.expect(packets.Puback)
	settle(t, te.Engine)
	if n := st.queueLen("gsub"); n != 0 {
		t.Fatalf("%d copies of the old session left for the new one", n)
	}
}

// TestDurableEarlyPubrec: a PUBREC that overtakes an earlier message's
// PUBACK is released (and answered with PUBREL) only once that PUBACK
// came, so Release never dequeues an unacknowledged message.
func TestDurableEarlyPubrec(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	offlineSubscriber(t, te, st, "esub", "e/#", 2)
	publishAcked(t, te.addr, [2]string{"1e/1", "a"}, [2]string{"2e/2", "b"})
	c := dialRaw(t, te.addr, 5)
	c.connect("esub", false, v5Persistent)
	got := recvPublishes(t, c, 2)
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrec}, PacketID: got[1].id})
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	c.expect(packets.Pingresp)
	settle(t, te.Engine)
	if f, _ := st.Flights("esub"); len(f.Released) != 0 || st.queueLen("esub") != 2 {
		t.Fatalf("released %v, queue %d before the first PUBACK", f.Released, st.queueLen("esub"))
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: got[0].id})
	if rel := c.expect(packets.Pubrel); rel.PacketID != got[1].id {
		t.Fatalf("PUBREL %d, want %d", rel.PacketID, got[1].id)
	}
	waitFor(t, "dequeued", func() bool { return st.queueLen("esub") == 0 })
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubcomp}, PacketID: got[1].id})
	waitFor(t, "completed", func() bool { f, _ := st.Flights("esub"); return len(f.Released) == 0 })
}

// TestDurableSubscribeRefused: a refused subscription write answers 0x80
// and leaves no subscription behind; a refused unsubscribe keeps it.
func TestDurableSubscribeRefused(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	c := dialRaw(t, te.addr, 5)
	c.connect("bsub", false, v5Persistent)
	if codes := c.subscribe("kept/#", 1, nil); codes[0] != 1 {
		t.Fatalf("SUBACK %v", codes)
	}
	st.mu.Lock()
	st.failSubs = errStoreDown
	st.mu.Unlock()
	if codes := c.subscribe("refused/#", 1, nil); codes[0] != 0x80 {
		t.Fatalf("SUBACK %v, want 0x80", codes)
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsubscribe}, PacketID: c.nextID(), Filters: packets.Subscriptions{{Filter: "kept/#"}}})
	if codes := c.expect(packets.Unsuback).ReasonCodes; codes[0] != 0x80 {
		t.Fatalf("UNSUBACK %v, want 0x80", codes)
	}
	st.mu.Lock()
	st.failSubs = nil
	st.mu.Unlock()
	publishAcked(t, te.addr, [2]string{"1refused/1", "no"}, [2]string{"1kept/1", "yes"})
	if got := recvPublishes(t, c, 1)[0]; got.payload != "yes" {
		t.Fatalf("got %q, want yes", got.payload)
	}
}

// TestDurableSessionExpires: an expired durable session's record is
// deleted by the sweeper.
func TestDurableSessionExpires(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	c := dialRaw(t, te.addr, 5)
	c.connect("xp", false, func(pk *packets.Packet) {
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 1, true
	})
	c.subscribe("xp/#", 1, nil)
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	waitFor(t, "record deleted", func() bool { _, ok := st.session("xp"); return !ok })
	st.mu.Lock()
	n := len(st.subs["xp"])
	st.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d subscriptions left", n)
	}
}

// TestDurableNothingBeforeConnack: while a reconnecting durable session's
// record is written, nothing is sent to it before its CONNACK
// [MQTT-3.2.0-1].
func TestDurableNothingBeforeConnack(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	offlineSubscriber(t, te, st, "nsub", "n/#", 1)
	p := dialRaw(t, te.addr, 5)
	p.connect("", true, nil)
	st.hold()
	c := dialRaw(t, te.addr, 5)
	c.send(packets.Packet{ProtocolVersion: 5, FixedHeader: packets.FixedHeader{Type: packets.Connect},
		Connect:    packets.ConnectParams{ClientIdentifier: "nsub", Keepalive: 60},
		Properties: packets.Properties{SessionExpiryInterval: 3600, SessionExpiryIntervalFlag: true}})
	waitFor(t, "held connect write", func() bool { return st.waitingWrites() == 1 })
	p.publish("n/1", "early", 0, false, nil) // QoS 0 to a connected durable session: from memory
	p.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	p.expect(packets.Pingresp)
	st.open()
	if ack := c.expect(packets.Connack); !ack.SessionPresent {
		t.Fatal("session not present")
	}
}

// TestDurableOnlineWindow: a connected durable session with a Receive
// Maximum of 3 gets 100 mixed QoS 1/2 messages in order (from memory while
// the window has room, from the store when it was full), and its queue
// drains as it acknowledges.
func TestDurableOnlineWindow(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	conn, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *paho.Publish, 128)
	pc := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: "wsub",
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			got <- pr.Packet
			return true, nil
		}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pc.Connect(ctx, &paho.Connect{ClientID: "wsub", CleanStart: true, Properties: &paho.ConnectProperties{
		SessionExpiryInterval: uint32Ptr(3600), ReceiveMaximum: uint16Ptr(3)}}); err != nil {
		t.Fatal(err)
	}
	defer pc.Disconnect(&paho.Disconnect{})
	if _, err := pc.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "w/#", QoS: 2}}}); err != nil {
		t.Fatal(err)
	}
	var msgs [][2]string
	for i := range 100 {
		msgs = append(msgs, [2]string{fmt.Sprintf("%dw/%d", 1+i%2, i), fmt.Sprint(i)})
	}
	publishAcked(t, te.addr, msgs...) // got holds them all: paho is never blocked
	for i := range 100 {
		select {
		case m := <-got:
			if string(m.Payload) != fmt.Sprint(i) {
				t.Fatalf("message %d: got %q", i, m.Payload)
			}
		case <-ctx.Done():
			t.Fatalf("message %d not received", i)
		}
	}
	waitFor(t, "queue drained", func() bool { return st.queueLen("wsub") == 0 })
}

func uint16Ptr(v uint16) *uint16 { return &v }

// TestDurableV311Restart: a 3.1.1 session with clean session 0 is durable.
func TestDurableV311Restart(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	c := dialRaw(t, te.addr, 4)
	c.connect("v4sub", false, nil)
	c.subscribe("v4/#", 2, nil)
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	c.expectClosed()
	waitFor(t, "disconnected record", func() bool { r, ok := st.session("v4sub"); return ok && r.DisconnectedAt != 0 })
	publishAcked(t, te.addr, [2]string{"1v4/a", "a"}, [2]string{"2v4/b", "b"})
	te.stop()
	te2 := newStoreEngine(t, st, nil)
	c = dialRaw(t, te2.addr, 4)
	if ack := c.connect("v4sub", false, nil); !ack.SessionPresent {
		t.Fatal("session not present after restart")
	}
	want := []seen{{"a", 1, 1, false}, {"b", 2, 2, false}}
	for i, g := range recvPublishes(t, c, 2) {
		if g != want[i] {
			t.Fatalf("message %d: %+v, want %+v", i, g, want[i])
		}
	}
}

// TestDurableRefusedQoS2Resent: a 3.1.1 QoS 2 PUBLISH whose write was
// refused (connection closed) is not taken for a duplicate when re-sent.
func TestDurableRefusedQoS2Resent(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	offlineSubscriber(t, te, st, "qsub", "q/#", 2)
	st.mu.Lock()
	st.failPublish = errStoreDown
	st.mu.Unlock()
	p := dialRaw(t, te.addr, 4)
	p.connect("qpub", false, nil)
	p.publish("q/1", "again", 2, false, nil)
	p.expectClosed()
	st.mu.Lock()
	st.failPublish = nil
	st.mu.Unlock()
	p = dialRaw(t, te.addr, 4)
	p.connect("qpub", false, nil)
	p.publish("q/1", "again", 2, false, func(pk *packets.Packet) { pk.PacketID, pk.FixedHeader.Dup = 1, true })
	p.expect(packets.Pubrec)
	if n := st.queueLen("qsub"); n != 1 {
		t.Fatalf("subscriber queue holds %d, want 1", n)
	}
}

// TestDurableDelayedWillAfterRestart: a delayed will of a session lost
// before the restart is published when its delay ends after the restart,
// and the record forgets it.
func TestDurableDelayedWillAfterRestart(t *testing.T) {
	st := newMemStore()
	te := newStoreEngine(t, st, nil)
	offlineSubscriber(t, te, st, "dl", "dwill/#", 1)
	w := dialRaw(t, te.addr, 5)
	w.connect("dw", false, func(pk *packets.Packet) {
		v5Persistent(pk)
		pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillPayload, pk.Connect.WillQos = true, "dwill/x", []byte("late"), 1
		pk.Connect.WillProperties.WillDelayInterval = 2
	})
	w.c.Close() // abnormal: the will waits for its delay
	waitFor(t, "record with pending will", func() bool {
		r, _ := st.session("dw")
		return r.DisconnectedAt != 0 && r.Will != nil && r.Will.Delay == 2
	})
	te.stop()
	if st.queueLen("dl") != 0 {
		t.Fatal("will published before its delay")
	}
	newStoreEngine(t, st, nil)
	waitFor(t, "will queued", func() bool { return st.queueLen("dl") == 1 })
	waitFor(t, "will forgotten", func() bool { r, _ := st.session("dw"); return r.Will == nil })
}
