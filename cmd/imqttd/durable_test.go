package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// kill ends the node with SIGKILL (no graceful shutdown) and waits for it.
func (n *node) kill() {
	n.t.Helper()
	_ = n.cmd.Process.Kill()
	select {
	case err := <-n.exit:
		n.exit <- err
	case <-time.After(10 * time.Second):
		n.t.Fatal("imqttd did not die after SIGKILL")
	}
}

// connectSession connects an MQTT 5 client with a persistent session.
func connectSession(t *testing.T, addr, id string, expiry uint32) *v5client {
	t.Helper()
	conn, err := dialMQTT(t, "tcp", addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &v5client{msgs: make(chan *paho.Publish, 1000), discon: make(chan *paho.Disconnect, 1)}
	c.Client = paho.NewClient(paho.ClientConfig{
		Conn: conn, ClientID: id, PingHandler: quietPinger{},
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) { c.msgs <- pr.Packet; return true, nil },
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: false,
		Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}})
	if err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	c.connack = ca
	return c
}

// TestAckedMessagesSurviveKill9: messages acknowledged to a publisher while a
// persistent subscriber is offline, and a retained message, are all there after
// the node is killed with SIGKILL (or stopped with SIGTERM) and restarted on the
// same data directory; the subscriber gets them in publish order, first delivery
// DUP=0, and its subscription still routes messages published after the restart.
// (QoS 2 in flight across kill -9 is the crash test's, TestCrashLoop.)
func TestAckedMessagesSurviveKill9(t *testing.T) {
	t.Run("kill -9", func(t *testing.T) { restartKeepsState(t, (*node).kill) })
	t.Run("SIGTERM", func(t *testing.T) { restartKeepsState(t, (*node).stopAndWait) })
}

// stopAndWait stops the node with SIGTERM and waits for a clean exit.
func (n *node) stopAndWait() {
	n.t.Helper()
	n.stop()
	select {
	case err := <-n.exit:
		n.exit <- err
		if err != nil {
			n.t.Fatalf("imqttd exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		n.t.Fatal("imqttd did not exit after SIGTERM")
	}
}

func restartKeepsState(t *testing.T, down func(*node)) {
	dir := t.TempDir()
	n := startNode(t, dir, loopbackFlags...)
	sub := connectSession(t, n.addr("tcp"), "dur-sub", 3600)
	if _, err := sub.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "dur/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	_ = sub.Disconnect(&paho.Disconnect{})

	pc, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := connectV5(t, pc, "dur-pub", "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	const count = 50
	for i := 0; i < count; i++ {
		if _, err := pub.Publish(ctx10s(t), &paho.Publish{Topic: "dur/q", QoS: 1, Payload: []byte(fmt.Sprintf("m%03d", i))}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if _, err := pub.Publish(ctx10s(t), &paho.Publish{Topic: "keep/r", QoS: 1, Retain: true, Payload: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	down(n) // right after the last PUBACK

	n2 := startNode(t, dir, loopbackFlags...)
	sub2 := connectSession(t, n2.addr("tcp"), "dur-sub", 3600)
	if !sub2.connack.SessionPresent {
		t.Fatal("session not present after restart")
	}
	for i := 0; i < count; i++ {
		select {
		case m := <-sub2.msgs:
			if want := fmt.Sprintf("m%03d", i); string(m.Payload) != want {
				t.Fatalf("message %d: got %q, want %q (order or loss)", i, m.Payload, want)
			}
			if m.Duplicate() {
				t.Fatalf("message %d delivered with DUP=1 on its first delivery", i)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("only %d of %d acked messages after the restart", i, count)
		}
	}
	// The subscription survived: a message published now is routed to it.
	pc2, err := dialMQTT(t, "tcp", n2.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pub2, err := connectV5(t, pc2, "dur-pub2", "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub2.Publish(ctx10s(t), &paho.Publish{Topic: "dur/after", QoS: 1, Payload: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	sub2.expect(t, "dur/after", "after", 1)
	rc, err := dialMQTT(t, "tcp", n2.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := connectV5(t, rc, "dur-ret", "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "keep/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "keep/r", "kept", 1)
}

// TestWillAfterCrash: the will of a persistent session whose client was
// connected when the node was killed is sent after the restart, and a will
// still in its delay when the node was killed is sent when the delay ends; a
// persistent subscriber gets both.
func TestWillAfterCrash(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, loopbackFlags...)
	sub := connectSession(t, n.addr("tcp"), "will-sub", 3600)
	if _, err := sub.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "will/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	_ = sub.Disconnect(&paho.Disconnect{})

	connectWithWill := func(id, topic string, delay uint32) net.Conn {
		conn, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
		if err != nil {
			t.Fatal(err)
		}
		c := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: id, PingHandler: quietPinger{}})
		expiry := uint32(3600)
		if _, err := c.Connect(ctx10s(t), &paho.Connect{
			ClientID: id, KeepAlive: 30, CleanStart: true,
			Properties:     &paho.ConnectProperties{SessionExpiryInterval: &expiry},
			WillMessage:    &paho.WillMessage{Topic: topic, QoS: 1, Payload: []byte("gone " + id)},
			WillProperties: &paho.WillProperties{WillDelayInterval: &delay},
		}); err != nil {
			t.Fatalf("connect %s: %v", id, err)
		}
		return conn
	}
	connectWithWill("will-live", "will/live", 0) // still connected at the crash
	delayed := connectWithWill("will-delayed", "will/delayed", 4)
	// An abrupt end (no DISCONNECT): the will waits 4 s; the node dies meanwhile.
	_ = delayed.Close()
	n.waitLog(10*time.Second, "will-delayed", "client disconnected")
	n.kill()
	killedAt := time.Now()

	n2 := startNode(t, dir, loopbackFlags...)
	sub2 := connectSession(t, n2.addr("tcp"), "will-sub", 3600)
	got := map[string]time.Time{}
	for len(got) < 2 {
		select {
		case m := <-sub2.msgs:
			got[m.Topic] = time.Now()
			if want := "gone will-" + strings.TrimPrefix(m.Topic, "will/"); string(m.Payload) != want {
				t.Fatalf("will %s: %q, want %q", m.Topic, m.Payload, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("wills received after the restart: %v, want will/live and will/delayed", got)
		}
	}
	if at := got["will/delayed"]; at.Sub(killedAt) < 2*time.Second {
		t.Fatalf("delayed will sent %s after the kill, before its 4 s delay ran out", at.Sub(killedAt))
	}
}
