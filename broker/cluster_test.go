package broker

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/internal/testkit"
)

// newTestCluster starts three brokers in this process, joined into one
// cluster over real TCP: n1 bootstraps, n2 and n3 join through n1.
func newTestCluster(t *testing.T) []*Broker {
	t.Helper()
	b1 := newTestBroker(t, func(c *Config) { c.Node.ID = "n1" })
	// n1 created its cluster secret in its data directory; the others
	// are given that file, as an operator copies it.
	secret := filepath.Join(b1.cfg.Node.DataDir, cluster.SecretFileName)
	bs := []*Broker{b1}
	for _, id := range []string{"n2", "n3"} {
		bs = append(bs, newTestBroker(t, func(c *Config) {
			c.Node.ID = id
			c.Cluster.SecretFile = secret
			c.Cluster.Bootstrap = false
			c.Cluster.Join = []string{b1.node.Addr()}
		}))
	}
	for _, b := range bs {
		eventually(t, 10*time.Second, "3 voters", func() bool { return len(b.node.Status().Voters()) == 3 })
	}
	return bs
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, d, what, cond)
}

func expectMsg(t *testing.T, c *testClient, topic, payload string, qos byte) {
	t.Helper()
	select {
	case m := <-c.msgs:
		if m.Topic != topic || string(m.Payload) != payload || m.QoS != qos {
			t.Fatalf("got %s %q qos %d, want %s %q qos %d", m.Topic, m.Payload, m.QoS, topic, payload, qos)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s %q within 10s", topic, payload)
	}
}

// TestInProcessCluster: three brokers in one process act as one: cross-node
// delivery at QoS 0/1/2, retained messages, a persistent session that moves
// from n1 to n3 with the messages queued meanwhile, and a removed node's
// routes disappear.
func TestInProcessCluster(t *testing.T) {
	bs := newTestCluster(t)
	b1, b2, b3 := bs[0], bs[1], bs[2]

	sub := mustConnect(t, b1, "sub")
	if _, err := sub.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "x/#", QoS: 2}}}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []*Broker{b2, b3} {
		eventually(t, 10*time.Second, "the route of n1 on "+b.cfg.Node.ID, func() bool {
			return slices.Contains(b.router.RemoteRoutes()["n1"], "x/#")
		})
	}
	for qos := byte(0); qos <= 2; qos++ {
		for _, b := range []*Broker{b2, b3} {
			p := mustConnect(t, b, "pub-"+b.cfg.Node.ID)
			payload := fmt.Sprintf("q%d via %s", qos, b.cfg.Node.ID)
			if _, err := p.Publish(tctx(t), &paho.Publish{Topic: "x/y", QoS: qos, Payload: []byte(payload)}); err != nil {
				t.Fatal(err)
			}
			expectMsg(t, sub, "x/y", payload, qos)
			_ = p.Disconnect(&paho.Disconnect{})
		}
	}

	// Retained through n3, read on n1 (replicated retained index).
	p3 := mustConnect(t, b3, "ret")
	if _, err := p3.Publish(tctx(t), &paho.Publish{Topic: "r/1", QoS: 1, Retain: true, Payload: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the retained message on n1", func() bool { return retainedOn(b1, "r/1") == "kept" })

	// A persistent session moves from n1 to n3.
	expiry := uint32(600)
	m, err := connect(t, b1, &paho.Connect{ClientID: "mover", Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "q/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	_ = m.Disconnect(&paho.Disconnect{})
	target := b1.node.Status().CommitIndex
	for _, b := range bs {
		eventually(t, 5*time.Second, "n2 to apply the subscription", func() bool { return b.node.Status().AppliedIndex >= target })
	}
	p2 := mustConnect(t, b2, "qpub")
	for i := range 5 {
		if _, err := p2.Publish(tctx(t), &paho.Publish{Topic: "q/a", QoS: 1, Payload: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	m3, err := connect(t, b3, &paho.Connect{ClientID: "mover", Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}})
	if err != nil {
		t.Fatal(err)
	}
	if !m3.connack.SessionPresent {
		t.Fatal("session not present on n3")
	}
	for i := range 5 {
		expectMsg(t, m3, "q/a", fmt.Sprint(i), 1)
	}

	// n3 subscribes, then leaves: its routes go with it.
	s3 := mustConnect(t, b3, "s3")
	if _, err := s3.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "n3/#", QoS: 0}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "n3's route on n1", func() bool { return slices.Contains(b1.router.RemoteRoutes()["n3"], "n3/#") })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b3.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b2.node.RemoveForward(ctx, "n3"); err != nil {
		t.Fatalf("remove n3 through n2: %v", err)
	}
	for _, b := range []*Broker{b1, b2} {
		eventually(t, 5*time.Second, "no route of n3 on "+b.cfg.Node.ID, func() bool {
			_, ok := b.router.RemoteRoutes()["n3"]
			return !ok && len(b.node.Status().Voters()) == 2
		})
	}
}

// TestInProcessClusterSharedSubscription: members of one shared subscription
// group on two nodes get each message once between them, whichever node it is
// published on.
func TestInProcessClusterSharedSubscription(t *testing.T) {
	bs := newTestCluster(t)
	var members []*testClient
	for _, b := range bs[1:] {
		c := mustConnect(t, b, "member-"+b.cfg.Node.ID)
		if _, err := c.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "$share/g/s/#", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		members = append(members, c)
	}
	// A plain subscriber on n3 too: n3 then gets every publish for it, and must
	// still leave the group to the node chosen for it.
	plain := mustConnect(t, bs[2], "plain-n3")
	if _, err := plain.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "s/#", QoS: 0}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "n3's plain route on n1", func() bool { return slices.Contains(bs[0].router.RemoteRoutes()["n3"], "s/#") })
	for _, b := range []*Broker{bs[0], bs[2]} {
		eventually(t, 5*time.Second, "the shared routes on "+b.cfg.Node.ID, func() bool {
			rr := b.router.RemoteRoutes()
			n := 0
			for _, fs := range rr {
				if slices.Contains(fs, "$share/g/s/#") {
					n++
				}
			}
			return n >= 1 && (b != bs[0] || n == 2)
		})
	}
	const n = 30
	for _, b := range []*Broker{bs[0], bs[2]} { // no member / a member on the publishing node
		p := mustConnect(t, b, "sp-"+b.cfg.Node.ID)
		for i := range n {
			if _, err := p.Publish(tctx(t), &paho.Publish{Topic: "s/x", QoS: 1, Payload: []byte(fmt.Sprintf("%s-%d", b.cfg.Node.ID, i))}); err != nil {
				t.Fatal(err)
			}
		}
		got := map[string]int{}
		deadline := time.After(10 * time.Second)
		for len(got) < n {
			select {
			case m := <-members[0].msgs:
				got[string(m.Payload)]++
			case m := <-members[1].msgs:
				got[string(m.Payload)]++
			case <-deadline:
				t.Fatalf("published on %s: %d of %d received", b.cfg.Node.ID, len(got), n)
			}
		}
		// Nothing more may come: each message went to one member only.
		select {
		case m := <-members[0].msgs:
			t.Fatalf("published on %s: %q delivered twice", b.cfg.Node.ID, m.Payload)
		case m := <-members[1].msgs:
			t.Fatalf("published on %s: %q delivered twice", b.cfg.Node.ID, m.Payload)
		case <-time.After(500 * time.Millisecond):
		}
		for k, c := range got {
			if c != 1 {
				t.Fatalf("%s delivered %d times", k, c)
			}
		}
	}
}
