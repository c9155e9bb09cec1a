package storage

import (
	"context"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt3 "github.com/eclipse/paho.mqtt.golang"
)

// A persistent session gets retained messages from its pump after the SUBACK
// (retain handling 0), and none with retain handling 2.
func TestRetainedOnSubscribeOwned(t *testing.T) {
	b := startBroker(t, t.TempDir(), DefaultConfig())
	pub := connectPub(t, b)
	if _, err := publish(pub, "r/1", "ret", 1, true); err != nil {
		t.Fatal(err)
	}
	c, r := connect(t, b.addr, "owned", true, 3600)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: "r/#", QoS: 1, RetainHandling: 2},
	}}); err != nil {
		t.Fatal(err)
	}
	subscribe(t, c, "r/1", 1)
	waitFor(t, "retained", func() bool { return len(r.snapshot()) >= 1 })
	// a live message afterwards proves nothing else was queued before it
	if _, err := publish(pub, "r/2", "live", 1, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "live", func() bool { return len(r.snapshot()) >= 2 })
	got := r.snapshot()
	if len(got) != 2 || string(got[0].Payload) != "ret" || !got[0].Retain || string(got[1].Payload) != "live" {
		for _, m := range got {
			t.Logf("got %s %q retain=%v", m.Topic, m.Payload, m.Retain)
		}
		t.Fatal("unexpected deliveries")
	}
}

// A 3.1.1 persistent session (clean session false) gets its offline messages.
func TestV3PersistentSession(t *testing.T) {
	b := startBroker(t, t.TempDir(), DefaultConfig())
	got := make(chan string, 10)
	opts := func() *mqtt3.ClientOptions {
		return mqtt3.NewClientOptions().AddBroker("tcp://" + b.addr).SetClientID("v3sub").
			SetCleanSession(false).SetAutoReconnect(false).
			SetDefaultPublishHandler(func(_ mqtt3.Client, m mqtt3.Message) { got <- string(m.Payload()) })
	}
	c := mqtt3.NewClient(opts())
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	if tok := c.Subscribe("v3/t", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	c.Disconnect(100)
	waitFor(t, "v3 disconnect", func() bool {
		si, ok := b.engine.Session("v3sub")
		return ok && !si.Online
	})
	pub := connectPub(t, b)
	for _, p := range []string{"a", "b"} {
		if _, err := publish(pub, "v3/t", p, 1, false); err != nil {
			t.Fatal(err)
		}
	}
	c2 := mqtt3.NewClient(opts())
	if tok := c2.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("reconnect: %v", tok.Error())
	}
	defer c2.Disconnect(0)
	for _, want := range []string{"a", "b"} {
		select {
		case p := <-got:
			if p != want {
				t.Fatalf("got %q, want %q", p, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no message %q", want)
		}
	}
}
