package engine

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// TestAdminSnapshots checks the operator's view of a connected v5 client,
// its offline session, a retained message, Kick (DISCONNECT 0x98, the
// session stays) and DropSession (refused online; offline: gone, its
// delayed will not published, the next CONNECT gets Session Present 0).
func TestAdminSnapshots(t *testing.T) {
	te := newTestEngine(t, nil)
	before := time.Now()
	c := dialRaw(t, te.addr, 5)
	c.connect("adm", false, func(pk *packets.Packet) {
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 60, true
		pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillPayload = true, "wills/adm", []byte("bye")
		pk.Connect.WillProperties.WillDelayInterval = 2
	})
	c.subscribe("b/#", 1, func(s *packets.Subscription) { s.NoLocal, s.RetainHandling = true, 2 })
	c.subscribe("a/+", 2, nil)
	c.publish("r/x", "kept", 1, true, nil)
	c.expect(packets.Puback)

	cl, ok := te.Client("adm")
	if !ok {
		t.Fatal("connected client not found")
	}
	if cl.Client.ID != "adm" || cl.Client.Listener != "tcp" || !cl.Client.Remote.IsValid() || cl.Client.ProtocolVersion != 5 ||
		cl.Clean || cl.SessionExpiry != 60 || cl.Keepalive != 60 || cl.WillTopic != "wills/adm" || cl.Client.TLS != nil {
		t.Fatalf("client %+v", cl)
	}
	if cl.ConnectedAt.Before(before.Truncate(time.Millisecond)) || time.Since(cl.ConnectedAt) > time.Minute {
		t.Fatalf("connected at %v, test started %v", cl.ConnectedAt, before)
	}
	want := []SubscriptionInfo{{Filter: "a/+", QoS: 2}, {Filter: "b/#", QoS: 1, NoLocal: true, RetainHandling: 2}}
	if fmt.Sprint(cl.Subscriptions) != fmt.Sprint(want) {
		t.Fatalf("subscriptions %+v, want %+v", cl.Subscriptions, want)
	}
	if n := te.ConnectedCount(); n != 1 || len(te.Clients()) != 1 {
		t.Fatalf("connected %d, clients %+v", n, te.Clients())
	}
	if rs := te.Retained("r/#"); len(rs) != 1 || rs[0].Topic != "r/x" || string(rs[0].Payload) != "kept" || rs[0].QoS != 1 {
		t.Fatalf("retained %+v", rs)
	}
	if known, online := te.DropSession("adm"); !known || !online {
		t.Fatalf("DropSession of a connected client: known %v online %v", known, online)
	}

	if v, ok := te.Kick("adm"); !ok || v != 5 {
		t.Fatalf("Kick = %d, %v", v, ok)
	}
	if d := c.expect(packets.Disconnect); d.ReasonCode != 0x98 {
		t.Fatalf("DISCONNECT reason 0x%02x, want 0x98", d.ReasonCode)
	}
	c.expectClosed()
	waitFor(t, "session offline", func() bool {
		s, ok := te.Session("adm")
		return ok && !s.Online && !s.OfflineAt.IsZero() && len(s.Subscriptions) == 2
	})
	if _, ok := te.Client("adm"); ok || len(te.Clients()) != 0 {
		t.Fatal("a kicked client is still listed as connected")
	}
	if _, ok := te.Kick("adm"); ok {
		t.Fatal("Kick of an offline session succeeded")
	}

	w := dialRaw(t, te.addr, 5)
	w.connect("watcher", true, nil)
	w.subscribe("wills/#", 0, nil)
	if known, online := te.DropSession("adm"); !known || online {
		t.Fatalf("DropSession of an offline session: known %v online %v", known, online)
	}
	if _, ok := te.Session("adm"); ok {
		t.Fatal("dropped session still in the table")
	}
	if known, _ := te.DropSession("adm"); known {
		t.Fatal("a dropped session is known")
	}
	again := dialRaw(t, te.addr, 5)
	if ack := again.connect("adm", false, nil); ack.SessionPresent {
		t.Fatal("session present after DropSession")
	}
	// The will was due 2 s after the kick; the sweeper runs every 50 ms.
	if pk, err := w.tryRecv(2500 * time.Millisecond); err == nil {
		t.Fatalf("watcher got %s %s: the dropped session's will was published", packets.PacketNames[pk.FixedHeader.Type], pk.TopicName)
	}
}

// TestAdminSnapshotsConcurrent reads every snapshot and kicks while clients
// connect, subscribe and disconnect (run with -race).
func TestAdminSnapshotsConcurrent(t *testing.T) {
	te := newTestEngine(t, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, c := range te.Clients() {
				te.Client(c.Client.ID)
			}
			for _, s := range te.Sessions() {
				te.Session(s.ClientID)
			}
			te.Retained("#")
			te.Kick("c3")
			te.DropSession("c4")
		}
	}()
	for i := 0; i < 20; i++ {
		c := dialRaw(t, te.addr, 5)
		id := fmt.Sprintf("c%d", i%5)
		if id == "c3" {
			// May be kicked at any point, even before its CONNACK (then
			// closed without one: never a DISCONNECT first).
			pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}}
			pk.Connect.ClientIdentifier, pk.Connect.Keepalive = id, 60
			c.send(pk)
			if first, err := c.tryRecv(time.Second); err == nil && first.FixedHeader.Type != packets.Connack {
				t.Fatalf("first packet to c3: %s, want CONNACK", packets.PacketNames[first.FixedHeader.Type])
			}
			c.c.Close()
			continue
		}
		c.connect(id, i%2 == 0, func(pk *packets.Packet) {
			pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 30, true
		})
		c.subscribe("t/"+id, 1, nil)
		c.publish("t/"+id, "x", 0, true, nil)
		c.disconnectAndWait()
	}
	close(stop)
	wg.Wait()
}
