package limits

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/testkit"
	"github.com/imqtt/imqtt/internal/testkit/mochitest"
)

func TestLevelsConfigValidate(t *testing.T) {
	if err := DefaultLevelsConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, -1, maxTopicLevels + 1} {
		err := LevelsConfig{MaxTopicLevels: n}.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "max_topic_levels") {
			t.Errorf("max_topic_levels %d: %v", n, err)
		}
	}
}

// allowAll lets every client in and allows every topic.
type allowAll struct{ mqtt.HookBase }

func (*allowAll) ID() string { return "allow-all" }
func (*allowAll) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}
func (*allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }
func (*allowAll) OnACLCheck(*mqtt.Client, string, bool) bool              { return true }

func TestLevelsAllowWill(t *testing.T) {
	obs := &countObserver{n: map[string]int{}}
	h, err := NewLevels(LevelsConfig{MaxTopicLevels: 3}, obs, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	if !h.AllowWill("c", "a/b/c") || obs.count() != 0 {
		t.Fatal("3-level will refused")
	}
	if h.AllowWill("c", "a/b/c/d") || obs.count() != 1 {
		t.Fatal("4-level will allowed or not counted")
	}
}

type countObserver struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *countObserver) LimitRefused(limit string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n[limit]++
}

func (o *countObserver) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[LimitMaxTopicLevels]
}

// levelsServer runs a mochi server on 127.0.0.1:0 that allows everyone, with
// the levels hook (max levels) and returns its address and observer.
func levelsServer(t *testing.T, max int) (string, *countObserver) {
	t.Helper()
	obs := &countObserver{n: map[string]int{}}
	h, err := NewLevels(LevelsConfig{MaxTopicLevels: max}, obs, testkit.Logger(t, zerolog.TraceLevel))
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := mochitest.Serve(t, mochitest.Options{InlineClient: true, ListenerID: "t"}, new(allowAll), h)
	return addr, obs
}

type v5 struct {
	*paho.Client
	msgs   chan *paho.Publish
	discon chan *paho.Disconnect
}

func dial5(t *testing.T, addr, id string) *v5 {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &v5{msgs: make(chan *paho.Publish, 10), discon: make(chan *paho.Disconnect, 1)}
	c.Client = paho.NewClient(paho.ClientConfig{
		Conn: nc, PacketTimeout: 10 * time.Second,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) { c.msgs <- pr.Packet; return true, nil },
		},
		OnServerDisconnect: func(d *paho.Disconnect) { c.discon <- d },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestLevelsHookMQTT5 checks every answer an MQTT 5 client gets, with real
// paho.golang clients against a mochi server: SUBACK 0x8F for the deep filter
// only, UNSUBACK 0x8F at its position, PUBACK 0x90, and DISCONNECT 0x90 for QoS 0;
// the shallow filters and topics on the same connection still work.
func TestLevelsHookMQTT5(t *testing.T) {
	addr, obs := levelsServer(t, 5)
	deep := "a/b/c/d/e/f"
	c := dial5(t, addr, "v5")
	sa, err := c.Subscribe(ctx10(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: "a/b", QoS: 1}, {Topic: deep, QoS: 1}, {Topic: "x/+/y/z/#", QoS: 0},
	}})
	if sa == nil { // err reports the refused filter; the SUBACK is what counts
		t.Fatal(err)
	}
	if got := sa.Reasons; len(got) != 3 || got[0] != 1 || got[1] != 0x8F || got[2] != 0 {
		t.Fatalf("SUBACK %x, want [01 8f 00]", got)
	}
	pr, err := c.Publish(ctx10(t), &paho.Publish{Topic: "a/b", QoS: 1, Payload: []byte("ok")})
	if err != nil || pr.ReasonCode != 0 {
		t.Fatalf("shallow publish: %v %+v", err, pr)
	}
	if m := <-c.msgs; m.Topic != "a/b" {
		t.Fatalf("got %s", m.Topic)
	}
	for _, qos := range []byte{1, 2} {
		pr, err = c.Publish(ctx10(t), &paho.Publish{Topic: deep, QoS: qos, Payload: []byte("no")})
		if pr == nil || pr.ReasonCode != 0x90 {
			t.Fatalf("deep publish qos %d: %v %+v, want reason 0x90", qos, err, pr)
		}
	}
	ua, err := c.Unsubscribe(ctx10(t), &paho.Unsubscribe{Topics: []string{deep, "a/b", deep + "/g"}})
	if ua == nil {
		t.Fatal(err)
	}
	if got := ua.Reasons; len(got) != 3 || got[0] != 0x8F || got[1] != 0 || got[2] != 0x8F {
		t.Fatalf("UNSUBACK %x, want [8f 00 8f]", got)
	}
	ua, err = c.Unsubscribe(ctx10(t), &paho.Unsubscribe{Topics: []string{deep}})
	if ua == nil || len(ua.Reasons) != 1 || ua.Reasons[0] != 0x8F {
		t.Fatalf("UNSUBACK of a deep filter only: %v %+v", err, ua)
	}
	if n := obs.count(); n != 6 {
		t.Fatalf("LimitRefused %d times, want 6", n)
	}
	// QoS 0 has no acknowledgement: DISCONNECT 0x90.
	if _, err := c.Publish(ctx10(t), &paho.Publish{Topic: deep, QoS: 0}); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-c.discon:
		if d.ReasonCode != 0x90 {
			t.Fatalf("DISCONNECT 0x%02x, want 0x90", d.ReasonCode)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no DISCONNECT after a deep QoS 0 publish")
	}
}

// TestLevelsHookMQTT311: SUBACK 0x80 for the deep filter, the shallow one
// granted; a deep PUBLISH closes the connection.
func TestLevelsHookMQTT311(t *testing.T) {
	addr, _ := levelsServer(t, 5)
	lost := make(chan error, 1)
	o := pahov3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("v3").SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectionLostHandler(func(_ pahov3.Client, err error) { lost <- err })
	c := pahov3.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	tok := c.SubscribeMultiple(map[string]byte{"a/b": 1, "a/b/c/d/e/f": 1}, nil)
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("no SUBACK")
	}
	res := tok.(*pahov3.SubscribeToken).Result()
	if res["a/b"] != 1 || res["a/b/c/d/e/f"] != 0x80 {
		t.Fatalf("SUBACK %v, want a/b granted 1 and the deep filter 0x80", res)
	}
	c.Publish("a/b/c/d/e/f", 1, false, "no")
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("connection not closed after a deep publish")
	}
}
