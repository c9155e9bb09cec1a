package broker

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/imqtt/imqtt/hooks/auth"
)

// TestNativeAuthThrottleDoesNotStall runs the real password file and login
// throttle: once an address's failures make its attempts wait (4 s here),
// more parallel wrong-password CONNECTs from it than the transport has
// workers (each waits in the throttle) do not stop another user, from
// another address, from connecting and doing a QoS 1 round trip within 2 s.
// Before Authenticate left the transport workers, every worker slept in
// the throttle and this timed out.
func TestNativeAuthThrottleDoesNotStall(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "passwd")
	f, err := auth.OpenOrCreatePasswordFile(pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetCost(4); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	const delay = 4 * time.Second
	b := newTestBroker(t, func(c *Config) {
		memoryConfig(c)
		c.Auth.PasswordFile = pw
		c.Auth.AllowAnonymous = false
		c.ACL.Rules = []string{"user alice", "topic readwrite t/#"}
		th := &c.Auth.Throttle
		th.Enabled, th.FreeAttempts, th.AddressFreeAttempts = true, 1, 1
		th.BaseDelay, th.MaxDelay, th.Window = delay, delay, time.Minute
	})

	// The attackers come from 127.0.0.2 (loopback too), alice from 127.0.0.1.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	attack := func(user string) (*paho.Connack, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
		conn, err := d.Dial("tcp", b.Addr("tcp"))
		if err != nil {
			return nil, err
		}
		mu.Lock()
		conns = append(conns, conn)
		mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 3*delay)
		defer cancel()
		pc := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: "x-" + user})
		return pc.Connect(ctx, &paho.Connect{ClientID: "x-" + user, CleanStart: true, KeepAlive: 0,
			UsernameFlag: true, Username: user, PasswordFlag: true, Password: []byte("wrong")})
	}
	// The address's free failure: its later attempts wait.
	if ca, _ := attack("mallory"); ca == nil || ca.ReasonCode != 0x86 {
		t.Fatalf("first wrong password: CONNACK %+v, want 0x86", ca)
	}
	workers := 4 * runtime.GOMAXPROCS(0) // the transport's default
	n := max(10, workers+2)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = attack(fmt.Sprintf("mallory%d", i))
		}()
	}
	// A worker's worth of CONNECTs read by the engine (counted before
	// Authenticate): before the fix, every worker now sleeps in the throttle.
	eventually(t, 3*time.Second, "the attackers' CONNECTs read", func() bool {
		return connectsRead(t, b) >= 1+workers
	})

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got := make(chan *paho.Publish, 1)
	conn, err := net.DialTimeout("tcp", b.Addr("tcp"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	alice := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: "alice-1",
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			select {
			case got <- pr.Packet:
			default:
			}
			return true, nil
		}}})
	t.Cleanup(func() { conn.Close() })
	ca, err := alice.Connect(ctx, &paho.Connect{ClientID: "alice-1", CleanStart: true, KeepAlive: 0,
		UsernameFlag: true, Username: "alice", PasswordFlag: true, Password: []byte("alice-pw")})
	if err != nil || ca.ReasonCode != 0 {
		t.Fatalf("alice's CONNECT while %d attempts wait in the throttle: %v (after %v)", n, err, time.Since(start))
	}
	if _, err := alice.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "t/#", QoS: 1}}}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if _, err := alice.Publish(ctx, &paho.Publish{Topic: "t/x", QoS: 1, Payload: []byte("hi")}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	select {
	case m := <-got:
		if string(m.Payload) != "hi" {
			t.Fatalf("got %q", m.Payload)
		}
	case <-ctx.Done():
		t.Fatalf("no message within 2 s (after %v)", time.Since(start))
	}
	_ = alice.Disconnect(&paho.Disconnect{})
}

var connectsRe = regexp.MustCompile(`imqtt_packets_received_total\{type="connect"\} (\d+)`)

// connectsRead is the number of CONNECT packets b's engine has read.
func connectsRead(t *testing.T, b *Broker) int {
	resp := adminGet(t, b, "/metrics")
	body, _ := io.ReadAll(resp.Body)
	m := connectsRe.FindSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}
