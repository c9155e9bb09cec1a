package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/imqtt/imqtt/internal/testkit"
	"github.com/imqtt/imqtt/sdk/go/imqtt"
)

// imqttdBin is the imqttd binary TestMain builds.
var imqttdBin string

func TestMain(m *testing.M) { testkit.Main(m, false, &imqttdBin) }

// TestEchoBot: the bot runs against a real imqttd; alice's direct message
// gets "echo: <body>" back, once; a group message gets no answer.
func TestEchoBot(t *testing.T) {
	d := testkit.StartIM(t, imqttdBin, []string{"alice", "bot"}, "")
	url := "mqtt://" + d.Addr("tcp")
	ctx, cancel := context.WithCancel(context.Background())
	botDone := make(chan error, 1)
	go func() {
		botDone <- Run(ctx, imqtt.Config{URL: url, User: "bot", Password: "bot-pw"}, func(err error) { t.Log(err) })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-botDone; err != nil {
			t.Errorf("bot: %v", err)
		}
	})

	var mu sync.Mutex
	var got []imqtt.Message
	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	alice, err := imqtt.Connect(cctx, imqtt.Config{URL: url, User: "alice", Password: "alice-pw", Protocol: 4,
		OnMessage: func(m imqtt.Message) { mu.Lock(); got = append(got, m); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = alice.Close() }()
	g, err := alice.CreateGroup(cctx, "with bot", []string{"bot"}, imqtt.GroupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(cctx, imqtt.Group(g.Group), "group: no echo", imqtt.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	// The bot may connect after this send: its first sync delivers it.
	if _, err := alice.Send(cctx, imqtt.User("bot"), "ping", imqtt.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	echoes := func() []imqtt.Message {
		mu.Lock()
		defer mu.Unlock()
		var out []imqtt.Message
		for _, m := range got {
			if m.From == "bot" {
				out = append(out, m)
			}
		}
		return out
	}
	testkit.Eventually(t, 15*time.Second, "the echo", func() bool { return len(echoes()) >= 1 })
	if _, err := alice.Send(cctx, imqtt.User("bot"), "pong", imqtt.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 15*time.Second, "the second echo", func() bool { return len(echoes()) >= 2 })
	e := echoes()
	if len(e) != 2 || e[0].Body != "echo: ping" || e[1].Body != "echo: pong" || e[0].To != "alice" {
		t.Fatalf("echoes %+v", e)
	}
}
