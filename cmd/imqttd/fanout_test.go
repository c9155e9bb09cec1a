package main

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt311 "github.com/eclipse/paho.mqtt.golang"
)

// fanoutNode starts imqttd with password-file users (usersNode) and extra
// YAML appended.
func fanoutNode(t *testing.T, users []string, extra string) *node {
	t.Helper()
	return usersNode(t, imqttdBin, "fan1", users, "", extra)
}

// connectUserSession connects an MQTT 5 client of user with a session expiry of
// an hour (a persistent session); clean selects Clean Start.
func connectUserSession(t *testing.T, n *node, user, id string, clean bool) (*v5client, error) {
	t.Helper()
	conn, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
	if err != nil {
		return nil, err
	}
	c, err := connectV5Expiry(t, conn, id, user, user+"-pw", clean, 3600)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("connect %s: %w", id, err)
	}
	return c, nil
}

// parallel runs fn(i) for i in [0, n) on workers goroutines and returns the
// first error.
func parallel(n, workers int, fn func(i int) error) error {
	var (
		next  atomic.Int64
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// TestFanoutManyOfflineSessions (issue 16, finding 3): a thousand offline
// persistent sessions of 40 users on one topic must not make another user's
// 90 KiB QoS 1 publish fail. Before shared bodies the publish was one raft
// command holding a copy per session (about 92 MB): PUBACK 0x80 for MQTT 5,
// a disconnect for 3.1.1, nothing delivered.
func TestFanoutManyOfflineSessions(t *testing.T) {
	const (
		nUsers   = 40
		perUser  = 25
		sessions = nUsers * perUser
		topic    = "fan/news"
	)
	users := []string{"publisher", "watcher", "legacy"}
	for u := range nUsers {
		users = append(users, fmt.Sprintf("fan%02d", u))
	}
	n := fanoutNode(t, users, "")
	sid := func(i int) (user, id string) {
		u := fmt.Sprintf("fan%02d", i%nUsers)
		return u, fmt.Sprintf("%s-dev%02d", u, i/nUsers)
	}
	err := parallel(sessions, 8, func(i int) error {
		user, id := sid(i)
		c, err := connectUserSession(t, n, user, id, true)
		if err != nil {
			return err
		}
		sa, err := c.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}})
		if err != nil || sa.Reasons[0] != 1 {
			return fmt.Errorf("subscribe %s: %v %v", id, err, sa)
		}
		return c.Disconnect(&paho.Disconnect{ReasonCode: 0})
	})
	if err != nil {
		t.Fatal(err)
	}

	watcher, err := connectV5(t, mustDial(t, n), "watcher-1", "watcher", "watcher-pw", true)
	if err != nil {
		t.Fatal(err)
	}
	if sa, err := watcher.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}}); err != nil || sa.Reasons[0] != 1 {
		t.Fatalf("watcher subscribe: %v %v", err, sa)
	}
	pub, err := connectV5(t, mustDial(t, n), "publisher-1", "publisher", "publisher-pw", true)
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("v5-payload."), 90<<10/11)
	pr, err := pub.Publish(ctx10s(t), &paho.Publish{Topic: topic, QoS: 1, Payload: payload})
	if pr == nil {
		t.Fatalf("publish: %v", err)
	}
	if pr.ReasonCode != 0 {
		t.Fatalf("PUBACK %#x for a publish to %d offline sessions, want 0x00", pr.ReasonCode, sessions)
	}
	select {
	case m := <-watcher.msgs:
		if !bytes.Equal(m.Payload, payload) {
			t.Fatalf("clean subscriber got %d bytes, want the %d published", len(m.Payload), len(payload))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the clean subscriber received nothing")
	}

	// A 3.1.1 publisher is acknowledged and stays connected.
	legacyPayload := bytes.Repeat([]byte("v311-load."), 90<<10/10)
	opts := mqtt311.NewClientOptions().AddBroker("tcp://" + n.addr("tcp")).SetClientID("legacy-1").
		SetUsername("legacy").SetPassword("legacy-pw").SetProtocolVersion(4).SetAutoReconnect(false)
	lc := mqtt311.NewClient(opts)
	if tok := lc.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("3.1.1 connect: %v", tok.Error())
	}
	t.Cleanup(func() { lc.Disconnect(100) })
	if tok := lc.Publish(topic, 1, false, legacyPayload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("3.1.1 publish: %v", tok.Error())
	}
	if !lc.IsConnectionOpen() {
		t.Fatal("the 3.1.1 publisher was disconnected")
	}

	// Every session gets both messages after reconnecting.
	var got atomic.Int64
	err = parallel(sessions, 8, func(i int) error {
		user, id := sid(i)
		c, err := connectUserSession(t, n, user, id, false)
		if err != nil {
			return err
		}
		defer func() { _ = c.Disconnect(&paho.Disconnect{ReasonCode: 0}) }()
		for _, want := range [][]byte{payload, legacyPayload} {
			select {
			case m := <-c.msgs:
				if !bytes.Equal(m.Payload, want) || m.Topic != topic {
					return fmt.Errorf("%s got %s (%d bytes), want %d bytes", id, m.Topic, len(m.Payload), len(want))
				}
			case <-time.After(20 * time.Second):
				return fmt.Errorf("%s: queued message missing after reconnect", id)
			}
		}
		got.Add(1)
		return nil
	})
	if err != nil {
		t.Fatalf("%v (%d of %d sessions had both messages)", err, got.Load(), sessions)
	}
	if got.Load() != sessions {
		t.Fatalf("%d of %d sessions got both messages", got.Load(), sessions)
	}
}

func mustDial(t *testing.T, n *node) net.Conn {
	t.Helper()
	c, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
