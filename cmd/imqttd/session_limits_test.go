package main

import (
	"errors"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	v3packets "github.com/eclipse/paho.mqtt.golang/packets"
)

// Issue 16, finding 3 (in part): persistent sessions per user.

// TestSessionsPerUser: with session.max_per_user: 2, bob's third persistent
// session is refused (MQTT 5 CONNACK 0x97, 3.1.1 return code 3) while
// resuming one of his two and a clean session stay allowed, and other users
// are not affected.
func TestSessionsPerUser(t *testing.T) {
	n := imNode(t, "session:\n  max_per_user: 2\n")
	for _, id := range []string{"bob-1", "bob-2"} {
		if ca, _ := connectPersistent(t, n, id, "bob", false); ca.ReasonCode != 0 {
			t.Fatalf("%s: CONNACK %#x", id, ca.ReasonCode)
		}
	}
	if ca, _ := connectPersistent(t, n, "bob-3", "bob", false); ca.ReasonCode != 0x97 {
		t.Fatalf("bob's third session: CONNACK %#x, want 0x97", ca.ReasonCode)
	}
	// 3.1.1, clean session 0: return code 3 (server unavailable).
	opts := pahov3.NewClientOptions().AddBroker("tcp://" + n.addr("tcp")).SetClientID("bob-4").
		SetProtocolVersion(4).SetCleanSession(false).SetUsername("bob").SetPassword("bob-pw").
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c3 := pahov3.NewClient(opts)
	tok := c3.Connect()
	if !tok.WaitTimeout(10*time.Second) || !errors.Is(tok.Error(), v3packets.ErrorRefusedServerUnavailable) {
		t.Fatalf("bob's 3.1.1 third session: %v, want %v", tok.Error(), v3packets.ErrorRefusedServerUnavailable)
	}
	// Resuming his own session (a takeover of bob-1 by bob) is allowed.
	ca, _ := connectPersistent(t, n, "bob-1", "bob", false)
	if ca.ReasonCode != 0 || !ca.SessionPresent {
		t.Fatalf("bob resuming bob-1: CONNACK %#x present %v, want 0 and present", ca.ReasonCode, ca.SessionPresent)
	}
	// A clean session (expiry 0) holds nothing after the connection: allowed.
	dialUser(t, n, "bob-5", "bob")
	// Another user is not affected.
	if ca, _ := connectPersistent(t, n, "alice-1", "alice", false); ca.ReasonCode != 0 {
		t.Fatalf("alice: CONNACK %#x", ca.ReasonCode)
	}
	if v := limitRefusals(t, n, "session.max_per_user"); v != 2 {
		t.Fatalf("imqtt_limit_refusals_total{limit=session.max_per_user} = %v, want 2", v)
	}
}

// Issue 16, finding 5 (in part): subscriptions per client.

// TestSubscriptionsPerClient: with limits.max_subscriptions_per_client: 3,
// the filters past the third get SUBACK 0x97 (MQTT 5) / 0x80 (3.1.1) and
// create nothing (a publish to them is not delivered); re-subscribing a held
// filter is granted and does not count.
func TestSubscriptionsPerClient(t *testing.T) {
	n := imNode(t, "limits:\n  max_subscriptions_per_client: 3\n")
	c := dialUser(t, n, "subs-5", "carol")
	sub := func(filters ...string) []byte {
		t.Helper()
		var so []paho.SubscribeOptions
		for _, f := range filters {
			so = append(so, paho.SubscribeOptions{Topic: f, QoS: 1})
		}
		sa, err := c.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: so})
		if sa == nil {
			t.Fatalf("subscribe %v: %v", filters, err)
		}
		return sa.Reasons
	}
	if got := sub("s/1", "s/2", "s/2", "s/3", "s/4", "s/5"); string(got) != string([]byte{1, 1, 1, 1, 0x97, 0x97}) {
		t.Fatalf("SUBACK %x, want 01 01 01 01 97 97", got)
	}
	if got := sub("s/1", "s/6"); string(got) != string([]byte{1, 0x97}) {
		t.Fatalf("re-subscribe: SUBACK %x, want 01 97", got)
	}
	pub := dialUser(t, n, "subs-pub", "dave")
	for _, topic := range []string{"s/4", "s/3"} {
		if _, err := pub.Publish(ctx10s(t), &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(topic)}); err != nil {
			t.Fatal(err)
		}
	}
	c.expect(t, "s/3", "s/3", 1) // s/4, published first, was never subscribed

	// 3.1.1: the refused filter gets 0x80.
	opts := pahov3.NewClientOptions().AddBroker("tcp://" + n.addr("tcp")).SetClientID("subs-v3").
		SetProtocolVersion(4).SetUsername("erin").SetPassword("erin-pw").SetAutoReconnect(false)
	c3 := pahov3.NewClient(opts)
	if tok := c3.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("3.1.1 connect: %v", tok.Error())
	}
	defer c3.Disconnect(100)
	tok := c3.SubscribeMultiple(map[string]byte{"v/1": 1, "v/2": 1, "v/3": 1, "v/4": 1}, nil)
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("3.1.1 SUBACK timed out")
	}
	refused := 0
	for f, code := range tok.(*pahov3.SubscribeToken).Result() {
		if code == 0x80 {
			refused++
		} else if code != 1 {
			t.Fatalf("3.1.1 %s: %#x", f, code)
		}
	}
	if refused != 1 {
		t.Fatalf("3.1.1: %d filters refused, want 1", refused)
	}
	if v := limitRefusals(t, n, "max_subscriptions_per_client"); v != 4 {
		t.Fatalf("imqtt_limit_refusals_total{limit=max_subscriptions_per_client} = %v, want 4", v)
	}
}
