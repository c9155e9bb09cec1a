package acl

import (
	"context"
	"sync"
	"testing"

	"github.com/eclipse/paho.golang/paho"
)

// TestEndToEndSubscribeDeliveryRace hammers the one ambiguity of mochi's ACL
// API: a literal SUBSCRIBE filter and a delivery of the same topic name arrive
// as the same OnACLCheck(cl, "x/secret", false). alice may subscribe to x/#
// (subscribe bit) but not read x/secret. While she subscribes to and
// unsubscribes from the literal "x/secret" again and again, bob floods
// x/secret, which mochi tries to deliver to her through "x/#". A delivery
// judged as a subscription would reach her; a subscription judged as a delivery
// would be refused. Neither may happen.
func TestEndToEndSubscribeDeliveryRace(t *testing.T) {
	b := newTestBroker(t, Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap, Rules: []string{
		"user alice", "topic subscribe x/#", "topic read x/public/#",
		"user bob", "topic readwrite #",
	}})
	alice := connect5(t, b.addr, "alice-1", "alice")
	bob := connect5(t, b.addr, "bob-1", "bob")
	if code := alice.subscribe(t, "x/#"); code != codeGranted1 {
		t.Fatalf("alice subscribe x/#: 0x%02x", code)
	}

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; ctx.Err() == nil; i++ {
			// Mostly QoS 0; every 50th at QoS 1 so that the broker's backlog
			// of bob's packets stays bounded.
			qos := byte(0)
			if i%50 == 0 {
				qos = 1
			}
			if _, err := bob.c.Publish(ctx, &paho.Publish{Topic: "x/secret", QoS: qos, Payload: []byte("s")}); err != nil {
				return
			}
		}
	}()
	const rounds = 1000
	refused := 0
	for i := 0; i < rounds; i++ {
		if code := alice.subscribe(t, "x/secret"); code != codeGranted1 {
			refused++
		}
		alice.unsubscribe(t, "x/secret")
	}
	stop()
	wg.Wait()

	bob.publish(t, "x/public/canary", 1, false)
	alice.in.wait(t, alice.name, "x/public/canary")
	if n := alice.in.count("x/secret"); n > 0 {
		t.Errorf("BYPASS: alice received x/secret %d times", n)
	}
	if refused > 0 {
		t.Errorf("%d of %d literal subscriptions refused (judged as deliveries)", refused, rounds)
	}
	if n := b.obs.get("read"); n == 0 {
		t.Error("no delivery was denied: the race was not exercised")
	} else {
		t.Logf("%d deliveries denied during %d subscribe rounds", n, rounds)
	}
}
