package main

import (
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestClusterProcesses: three imqttd processes on 127.0.0.1 form a cluster
// (bootstrap, --join through the leader and through a follower) and act as
// one broker: a subscriber on node 1 gets QoS 0/1/2 publishes of nodes 2 and
// 3, retained messages and a will; a persistent session moves from node 1 to
// node 3 and gets what was queued meanwhile, and its old connection is taken
// over (0x8E); a removed node leaves no route behind.
func TestClusterProcesses(t *testing.T) {
	nodes := startCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]

	sub := dialV5(t, n1, "sub1", true)
	if _, err := sub.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "c/#", QoS: 2}}}); err != nil {
		t.Fatal(err)
	}
	p2 := dialV5(t, n2, "pub2", true)
	p3 := dialV5(t, n3, "pub3", true)
	awaitRoute(t, p2, sub, "c/probe")
	awaitRoute(t, p3, sub, "c/probe")

	t.Run("qos", func(t *testing.T) {
		for qos := byte(0); qos <= 2; qos++ {
			for i, p := range []*v5client{p2, p3} {
				payload := fmt.Sprintf("q%d from n%d", qos, i+2)
				if _, err := p.Publish(ctx10s(t), &paho.Publish{Topic: "c/x", QoS: qos, Payload: []byte(payload)}); err != nil {
					t.Fatal(err)
				}
				sub.expect(t, "c/x", payload, qos)
			}
		}
	})

	t.Run("retained", func(t *testing.T) {
		if _, err := p3.Publish(ctx10s(t), &paho.Publish{Topic: "r/state", QoS: 1, Retain: true, Payload: []byte("on")}); err != nil {
			t.Fatal(err)
		}
		// A new subscriber on node 1 gets it from node 1's retained index.
		deadline := time.Now().Add(10 * time.Second)
		for {
			c := dialV5(t, n1, "rsub", true)
			if _, err := c.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "r/#", QoS: 1}}}); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-c.msgs:
				if m.Topic != "r/state" || string(m.Payload) != "on" || !m.Retain {
					t.Fatalf("retained: got %s %q retain=%v", m.Topic, m.Payload, m.Retain)
				}
				_ = c.Disconnect(&paho.Disconnect{})
				return
			case <-time.After(500 * time.Millisecond):
			}
			_ = c.Disconnect(&paho.Disconnect{})
			if time.Now().After(deadline) {
				t.Fatal("retained message of node 3 not on node 1")
			}
		}
	})

	t.Run("will", func(t *testing.T) {
		conn, err := dialMQTT(t, "tcp", n2.addr("tcp"), nil)
		if err != nil {
			t.Fatal(err)
		}
		c := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: "dying", PingHandler: quietPinger{}})
		if _, err := c.Connect(ctx10s(t), &paho.Connect{ClientID: "dying", KeepAlive: 30, CleanStart: true,
			WillMessage: &paho.WillMessage{Topic: "c/will", QoS: 1, Payload: []byte("dying is gone")}}); err != nil {
			t.Fatal(err)
		}
		_ = conn.(*net.TCPConn).SetLinger(0)
		_ = conn.Close() // no DISCONNECT: the will is sent
		sub.expect(t, "c/will", "dying is gone", 1)
	})

	t.Run("session moves", func(t *testing.T) {
		m := connectSession(t, n1.addr("tcp"), "mover", 3600)
		if _, err := m.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "q/#", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		_ = m.Disconnect(&paho.Disconnect{})
		waitSynced(t, n1, n2, n3)
		for i := range 20 {
			if _, err := p2.Publish(ctx10s(t), &paho.Publish{Topic: "q/m", QoS: 1, Payload: []byte(fmt.Sprint(i))}); err != nil {
				t.Fatal(err)
			}
		}
		m3 := connectSession(t, n3.addr("tcp"), "mover", 3600)
		if !m3.connack.SessionPresent {
			t.Fatal("session not present on node 3")
		}
		for i := range 20 {
			m3.expect(t, "q/m", fmt.Sprint(i), 1)
		}
		// Published on node 1 while the session is on node 3.
		p1 := dialV5(t, n1, "pub1", true)
		if _, err := p1.Publish(ctx10s(t), &paho.Publish{Topic: "q/m", QoS: 1, Payload: []byte("live")}); err != nil {
			t.Fatal(err)
		}
		m3.expect(t, "q/m", "live", 1)

		// The same client id connects to node 2: node 3 drops its connection
		// with 0x8E and node 2 resumes the session.
		discon := make(chan *paho.Disconnect, 1)
		conn, err := dialMQTT(t, "tcp", n3.addr("tcp"), nil)
		if err != nil {
			t.Fatal(err)
		}
		expiry := uint32(3600)
		old := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: "taken", PingHandler: quietPinger{},
			OnServerDisconnect: func(d *paho.Disconnect) { discon <- d }})
		if _, err := old.Connect(ctx10s(t), &paho.Connect{ClientID: "taken", KeepAlive: 30,
			Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}}); err != nil {
			t.Fatal(err)
		}
		connectSession(t, n2.addr("tcp"), "taken", 3600)
		select {
		case d := <-discon:
			if d.ReasonCode != 0x8E {
				t.Fatalf("old connection got DISCONNECT 0x%02X, want 0x8E", d.ReasonCode)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the old connection on node 3 was not taken over")
		}
	})

	t.Run("removed node leaves no route", func(t *testing.T) {
		s3 := dialV5(t, n3, "sub3", true)
		if _, err := s3.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "only/n3/#", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !slices.Contains(routeTable(t, n1).Remote["n3"], "only/n3/#") {
			if time.Now().After(deadline) {
				t.Fatalf("node 1 never learnt node 3's route: %+v", routeTable(t, n1))
			}
			time.Sleep(100 * time.Millisecond)
		}
		n3.stopAndWait()
		if out, errOut, code := clusterRun(t, n1, "remove", "n3"); code != 0 {
			t.Fatalf("cluster remove n3: exit %d: %s %s", code, out, errOut)
		}
		waitVoters(t, n1, 2)
		waitVoters(t, n2, 2)
		for _, nd := range []*node{n1, n2} {
			deadline := time.Now().Add(10 * time.Second)
			for {
				rt := routeTable(t, nd)
				if _, ok := rt.Remote["n3"]; !ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("routes of removed node n3 still there: %+v", rt)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	})
}
