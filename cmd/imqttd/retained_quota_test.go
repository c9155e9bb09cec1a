package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt311 "github.com/eclipse/paho.mqtt.golang"
)

// TestRetainedQuotaPerUser (issue 16, finding 5): retained messages are
// bounded per user by count and by bytes, cluster-wide in the store. Past a
// bound an MQTT 5 QoS 1 publish gets PUBACK 0x97 and is neither retained
// nor delivered; QoS 0 is delivered but not retained; a 3.1.1 QoS 1
// publisher is disconnected. Replacing one's own message counts the
// difference, an empty payload deletes and frees, and another user's
// message at the topic frees the previous owner's share.
func TestRetainedQuotaPerUser(t *testing.T) {
	n := fanoutNode(t, []string{"owner", "reader", "other"}, `
retained:
  max_per_user: 3
  max_bytes_per_user: 4096
`)
	owner, err := connectV5(t, mustDial(t, n), "owner-1", "owner", "owner-pw", true)
	if err != nil {
		t.Fatal(err)
	}
	live, err := connectV5(t, mustDial(t, n), "reader-live", "reader", "reader-pw", true)
	if err != nil {
		t.Fatal(err)
	}
	if sa, err := live.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "r/#", QoS: 1}}}); err != nil || sa.Reasons[0] != 1 {
		t.Fatalf("subscribe: %v %v", err, sa)
	}
	pub := func(c *v5client, topic, payload string, qos byte) byte {
		t.Helper()
		pr, err := c.Publish(ctx10s(t), &paho.Publish{Topic: topic, QoS: qos, Retain: true, Payload: []byte(payload)})
		if qos == 0 {
			if err != nil {
				t.Fatalf("publish %s: %v", topic, err)
			}
			return 0
		}
		if pr == nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
		return pr.ReasonCode
	}
	want := func(topic, payload string, qos, code byte) {
		t.Helper()
		if got := pub(owner, topic, payload, qos); got != code {
			t.Fatalf("retained %s (%d bytes): reason %#x, want %#x", topic, len(payload), got, code)
		}
	}
	// retainedNow subscribes a fresh client to r/# and returns topic ->
	// payload of the retained messages it receives: it waits for wantN of
	// them, then for a short while for any extra one.
	seq := 0
	retainedNow := func(wantN int) map[string]string {
		t.Helper()
		seq++
		c, err := connectV5(t, mustDial(t, n), fmt.Sprintf("reader-%d", seq), "reader", "reader-pw", true)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Disconnect(&paho.Disconnect{}) }()
		if _, err := c.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "r/#", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		deadline := time.After(10 * time.Second)
		for len(out) < wantN {
			select {
			case m := <-c.msgs:
				out[m.Topic] = string(m.Payload)
			case <-deadline:
				return out
			}
		}
		select { // an extra one would be sent right after the others
		case m := <-c.msgs:
			out[m.Topic] = string(m.Payload)
		case <-time.After(300 * time.Millisecond):
		}
		return out
	}
	drainLive := func(topic string) {
		t.Helper()
		select {
		case m := <-live.msgs:
			if m.Topic != topic {
				t.Fatalf("live subscriber got %s, want %s", m.Topic, topic)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("live subscriber did not get %s", topic)
		}
	}

	for _, topic := range []string{"r/1", "r/2", "r/3"} {
		want(topic, "a", 1, 0)
		drainLive(topic)
	}
	want("r/4", "a", 1, 0x97) // count bound
	select {
	case m := <-live.msgs:
		t.Fatalf("a refused publish was delivered: %s", m.Topic)
	case <-time.After(300 * time.Millisecond):
	}
	want("r/1", "bb", 1, 0) // replacing one's own message: same count
	drainLive("r/1")
	want("r/2", "", 1, 0) // deleting frees
	drainLive("r/2")
	want("r/4", "a", 1, 0)
	drainLive("r/4")
	want("r/1", strings.Repeat("x", 5000), 1, 0x97) // bytes bound
	if got := retainedNow(3); len(got) != 3 || got["r/1"] != "bb" || got["r/3"] != "a" || got["r/4"] != "a" {
		t.Fatalf("retained after the refusals: %v", got)
	}

	// QoS 0 over the bound: delivered, not retained.
	want("r/5", "q0", 0, 0)
	drainLive("r/5")
	if got := retainedNow(3); got["r/5"] != "" || len(got) != 3 {
		t.Fatalf("a QoS 0 message over the bound was retained: %v", got)
	}

	// MQTT 3.1.1 QoS 1 over the bound: no negative ack, so a disconnect.
	lost := make(chan error, 1)
	opts := mqtt311.NewClientOptions().AddBroker("tcp://" + n.addr("tcp")).SetClientID("owner-311").
		SetUsername("owner").SetPassword("owner-pw").SetProtocolVersion(4).SetAutoReconnect(false).
		SetConnectionLostHandler(func(_ mqtt311.Client, err error) { lost <- err })
	lc := mqtt311.NewClient(opts)
	if tok := lc.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("3.1.1 connect: %v", tok.Error())
	}
	lc.Publish("r/6", 1, true, "v3")
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("the 3.1.1 publisher over its retained bound was not disconnected")
	}

	// Another user's message at r/3 moves it off owner's quota.
	other, err := connectV5(t, mustDial(t, n), "other-1", "other", "other-pw", true)
	if err != nil {
		t.Fatal(err)
	}
	if code := pub(other, "r/3", "theirs", 1); code != 0 {
		t.Fatalf("other's retained: %#x", code)
	}
	want("r/7", "a", 1, 0)
	if got := retainedNow(4); len(got) != 4 || got["r/3"] != "theirs" || got["r/7"] != "a" {
		t.Fatalf("retained at the end: %v", got)
	}

	code, body := n.adminAPI(t, http.MethodGet, "/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	metrics := string(body)
	for _, l := range []string{`imqtt_limit_refusals_total{limit="retained.max_per_user"}`, `imqtt_limit_refusals_total{limit="retained.max_bytes_per_user"}`} {
		if !strings.Contains(metrics, l) {
			t.Fatalf("metrics lack %s", l)
		}
	}
	if !strings.Contains(n.log(), "retained message refused by quota") {
		t.Fatal("no log line for the refusals")
	}
}
