package broker

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/imqtt/imqtt/broker/engine"
	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/hooks/auth"
	"github.com/imqtt/imqtt/persist"
)

// Durable sessions across a cluster on the native engine (task F): every
// node mirrors the others' sessions through the store's observer.

// durableConfig is memoryConfig with durable storage.
func durableConfig(c *Config) {
	memoryConfig(c)
	c.Storage.Enabled = true
}

// newDurableCluster starts n native nodes with storage, joined into one
// cluster (n1 bootstraps), each with its links to the others up. mutate
// (may be nil) adjusts every node's config.
func newDurableCluster(t *testing.T, n int, mutate func(*Config)) []*Broker {
	t.Helper()
	b1 := newTestBroker(t, func(c *Config) {
		durableConfig(c)
		c.Node.ID = "n1"
		if mutate != nil {
			mutate(c)
		}
	})
	secret := filepath.Join(b1.cfg.Node.DataDir, cluster.SecretFileName)
	bs := []*Broker{b1}
	for i := 2; i <= n; i++ {
		bs = append(bs, newTestBroker(t, func(c *Config) {
			durableConfig(c)
			c.Node.ID = fmt.Sprintf("n%d", i)
			c.Cluster.SecretFile = secret
			c.Cluster.Bootstrap = false
			c.Cluster.Join = []string{b1.node.Addr()}
			if mutate != nil {
				mutate(c)
			}
		}))
	}
	for _, b := range bs {
		eventually(t, 10*time.Second, fmt.Sprintf("%d voters", n), func() bool { return len(b.node.Status().Voters()) == n })
	}
	for _, b := range bs {
		for _, o := range bs {
			if o != b {
				eventually(t, 10*time.Second, b.cfg.Node.ID+"'s link to "+o.cfg.Node.ID, func() bool { return b.router.LinkUp(o.cfg.Node.ID) })
			}
		}
	}
	return bs
}

// persistent connects a v5 client with Session Expiry expiry, resuming
// (CleanStart false).
func persistent(t *testing.T, b *Broker, id string, expiry uint32) *testClient {
	t.Helper()
	c, err := connect(t, b, &paho.Connect{ClientID: id, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}})
	if err != nil {
		t.Fatalf("connect %s on %s: %v", id, b.cfg.Node.ID, err)
	}
	return c
}

// waitMirrored waits until b's engine holds id's session offline (online
// false) with filter among its subscriptions.
func waitMirrored(t *testing.T, b *Broker, id, filter string) {
	t.Helper()
	eventually(t, 10*time.Second, fmt.Sprintf("session %s with %s on %s", id, filter, b.cfg.Node.ID), func() bool {
		si, ok := b.engine.Session(id)
		if !ok || si.Online {
			return false
		}
		return slices.ContainsFunc(si.Subscriptions, func(s engine.SubscriptionInfo) bool { return s.Filter == filter })
	})
}

// TestNativeDurableClusterQueue: a persistent subscriber on n1 goes
// offline; QoS 1 messages published on n2 and QoS 2 ones on n3, in turn,
// are queued for it on every node; it reconnects on n3: session present,
// every message once, in publish order. Its subscription is not routed
// (every node writes its copies through raft).
func TestNativeDurableClusterQueue(t *testing.T) {
	bs := newDurableCluster(t, 3, nil)
	b1, b2, b3 := bs[0], bs[1], bs[2]

	sub := persistent(t, b1, "dur", 600)
	if _, err := sub.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "d/#", QoS: 2}}}); err != nil {
		t.Fatal(err)
	}
	// A clean subscriber's route after the durable one: once it is on n2,
	// the durable filter would be too, were it routed.
	clean := mustConnect(t, b1, "clean")
	if _, err := clean.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "c/#", QoS: 0}}}); err != nil {
		t.Fatal(err)
	}
	waitRoute(t, b2, "n1", "c/#", true)
	if slices.Contains(b2.router.RemoteRoutes()["n1"], "d/#") {
		t.Fatal("the durable subscription d/# is routed")
	}
	if err := sub.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		waitMirrored(t, b, "dur", "d/#")
	}

	const n = 10
	p2, p3 := mustConnect(t, b2, "p2"), mustConnect(t, b3, "p3")
	var want []string
	for i := range n {
		for _, p := range []struct {
			c   *testClient
			id  string
			qos byte
		}{{p2, "n2", 1}, {p3, "n3", 2}} {
			payload := fmt.Sprintf("%s-%d", p.id, i)
			if rc := pubRC(t, p.c.Client, &paho.Publish{Topic: "d/x", QoS: p.qos, Payload: []byte(payload)}); rc != 0 {
				t.Fatalf("publish %s: reason 0x%02x", payload, rc)
			}
			want = append(want, payload)
		}
	}

	back := persistent(t, b3, "dur", 600)
	if !back.connack.SessionPresent {
		t.Fatal("reconnect on n3: session present 0")
	}
	for i, w := range want {
		m := back.next(t)
		wq := byte(1 + i%2)
		if string(m.Payload) != w || m.QoS != wq {
			t.Fatalf("message %d: %q QoS %d, want %q QoS %d", i, m.Payload, m.QoS, w, wq)
		}
	}
	// A marker published after them arrives next: nothing was doubled.
	if _, err := p2.Publish(tctx(t), &paho.Publish{Topic: "d/end", QoS: 1, Payload: []byte("end")}); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, back, "d/end", "end", 1)
}

// TestNativeDurableClusterRetained: a retained message set through n1 is
// sent to a new subscriber on n2; cleared through n3, n1 forgets it.
func TestNativeDurableClusterRetained(t *testing.T) {
	bs := newDurableCluster(t, 3, nil)
	b1, b2, b3 := bs[0], bs[1], bs[2]
	p := mustConnect(t, b1, "rp")
	if _, err := p.Publish(tctx(t), &paho.Publish{Topic: "r/1", QoS: 1, Retain: true, Payload: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	if got := b1.engine.Retained("r/#"); len(got) != 1 || string(got[0].Payload) != "kept" {
		t.Fatalf("n1's retained index after the PUBACK: %+v", got)
	}
	eventually(t, 10*time.Second, "the retained message on n2", func() bool { return len(b2.engine.Retained("r/#")) == 1 })
	s := mustConnect(t, b2, "rs")
	if _, err := s.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "r/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	m := s.next(t)
	if m.Topic != "r/1" || string(m.Payload) != "kept" || !m.Retain {
		t.Fatalf("retained on n2: %s %q retain %v", m.Topic, m.Payload, m.Retain)
	}

	c := mustConnect(t, b3, "rc")
	if _, err := c.Publish(tctx(t), &paho.Publish{Topic: "r/1", QoS: 1, Retain: true}); err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		eventually(t, 10*time.Second, "no retained message on "+b.cfg.Node.ID, func() bool { return len(b.engine.Retained("r/#")) == 0 })
	}
}

// TestNativeDurableClusterTakeover: a durable session connected on n1 is
// taken over by its client connecting on n2: the n1 connection gets 0x8E,
// n2 answers session present, n1 keeps the session as a mirror (with its
// subscription, connected elsewhere) and wrote no disconnect record, and
// a message published on n3 reaches the client on n2 once.
func TestNativeDurableClusterTakeover(t *testing.T) {
	bs := newDurableCluster(t, 3, nil)
	b1, b2, b3 := bs[0], bs[1], bs[2]
	old := persistent(t, b1, "mover", 600)
	if _, err := old.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "t/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	// The publisher's node computes the copies from its own mirror: it must
	// have applied the subscription (docs/cluster.md, "Subscriptions spread
	// in milliseconds"), as must n2, where the session moves.
	for _, b := range []*Broker{b2, b3} {
		eventually(t, 10*time.Second, b.cfg.Node.ID+" to mirror mover's subscription", func() bool {
			si, ok := b.engine.Session("mover")
			return ok && len(si.Subscriptions) == 1
		})
	}
	p := mustConnect(t, b3, "tp")
	if _, err := p.Publish(tctx(t), &paho.Publish{Topic: "t/1", QoS: 1, Payload: []byte("before")}); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, old, "t/1", "before", 1)

	moved := persistent(t, b2, "mover", 600)
	if !moved.connack.SessionPresent {
		t.Fatal("takeover on n2: session present 0")
	}
	select {
	case d := <-old.discon:
		if d.ReasonCode != 0x8E {
			t.Fatalf("old connection: DISCONNECT 0x%02x, want 0x8E", d.ReasonCode)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("old connection on n1 not taken over within 10s")
	}
	if _, err := p.Publish(tctx(t), &paho.Publish{Topic: "t/1", QoS: 1, Payload: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, moved, "t/1", "after", 1)
	if _, err := p.Publish(tctx(t), &paho.Publish{Topic: "t/1", QoS: 1, Payload: []byte("marker")}); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, moved, "t/1", "marker", 1) // "after" came once

	waitMirrored(t, b1, "mover", "t/#")
	if si, _ := b1.engine.Session("mover"); !si.OfflineAt.IsZero() {
		t.Fatalf("n1 holds mover as disconnected at %v, want connected elsewhere", si.OfflineAt)
	}
	for _, b := range bs {
		r, err := b.store.Session("mover")
		if err != nil {
			t.Fatalf("%s: read mover: %v", b.cfg.Node.ID, err)
		}
		if r.DisconnectedAt != 0 || r.NodeID != "n2" {
			t.Fatalf("%s: mover's record disconnected at %d on %q, want connected on n2", b.cfg.Node.ID, r.DisconnectedAt, r.NodeID)
		}
	}
}

// TestNativeDurableClusterExpiry: a session with a 1 s expiry that
// disconnected on a follower is deleted by the leader and gone from every
// node; another one with the same expiry, connected on that follower all
// along, is kept everywhere.
func TestNativeDurableClusterExpiry(t *testing.T) {
	bs := newDurableCluster(t, 3, nil)
	var f *Broker
	for _, b := range bs {
		if !b.node.IsLeader() {
			f = b
			break
		}
	}
	live := persistent(t, f, "live", 1)
	if _, err := live.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "l/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	gone := persistent(t, f, "gone", 1)
	if _, err := gone.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "g/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		eventually(t, 10*time.Second, "live's subscription on "+b.cfg.Node.ID, func() bool {
			si, ok := b.engine.Session("live")
			return ok && len(si.Subscriptions) == 1
		})
	}
	if err := gone.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		waitMirrored(t, b, "gone", "g/#")
	}
	for _, b := range bs {
		eventually(t, 15*time.Second, "gone expired on "+b.cfg.Node.ID, func() bool {
			_, ok := b.engine.Session("gone")
			return !ok
		})
	}
	if _, err := f.store.Session("gone"); !errors.Is(err, persist.ErrNotFound) {
		t.Fatalf("gone's record after its expiry: %v, want not found", err)
	}
	for _, b := range bs {
		si, ok := b.engine.Session("live")
		if !ok || len(si.Subscriptions) != 1 {
			t.Fatalf("%s: the connected session expired: %+v %v", b.cfg.Node.ID, si, ok)
		}
	}
	p := mustConnect(t, bs[0], "lp")
	if _, err := p.Publish(tctx(t), &paho.Publish{Topic: "l/1", QoS: 1, Payload: []byte("still")}); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, live, "l/1", "still", 1)
}

// TestNativeDurableClusterOwner: bob's persistent session created on n1 is
// refused to eve on n2 (0x87), offline and again while bob is connected
// on n3; bob resumes it on n2.
func TestNativeDurableClusterOwner(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "passwd")
	f, err := auth.OpenOrCreatePasswordFile(pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetCost(4); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"bob", "eve"} {
		if err := f.Set(u, u+"-pw"); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	bs := newDurableCluster(t, 3, func(c *Config) {
		c.Auth.PasswordFile = pw
		c.Auth.AllowAnonymous = false
	})
	expiry := uint32(600)
	as := func(b *Broker, user string) (*testClient, error) {
		return connect(t, b, &paho.Connect{ClientID: "bob-tablet", Username: user, UsernameFlag: true,
			Password: []byte(user + "-pw"), PasswordFlag: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}})
	}
	bob, err := as(bs[0], "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "bob's session offline on n2", func() bool {
		si, ok := bs[1].engine.Session("bob-tablet")
		return ok && !si.Online && !si.OfflineAt.IsZero() && si.User == "bob"
	})
	refused := func(b *Broker) {
		t.Helper()
		c, err := as(b, "eve")
		if err == nil || c.connack == nil || c.connack.ReasonCode != 0x87 {
			t.Fatalf("eve with bob's client id on %s: %v (connack %+v), want 0x87", b.cfg.Node.ID, err, c.connack)
		}
	}
	refused(bs[1])
	// Connected on n3: refused on n2 too.
	if _, err := as(bs[2], "bob"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "bob connected on n3 as seen by n2", func() bool {
		si, ok := bs[1].engine.Session("bob-tablet")
		return ok && si.OfflineAt.IsZero()
	})
	refused(bs[1])
	again, err := as(bs[1], "bob")
	if err != nil {
		t.Fatal(err)
	}
	if !again.connack.SessionPresent {
		t.Fatal("bob on n2: session present 0")
	}
}
