package broker

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/imqtt/imqtt/cluster"
)

// newNativeCluster starts n brokers on the native engine in this process,
// joined into one cluster over real TCP (n1 bootstraps, the others join it).
func newNativeCluster(t *testing.T, n int) []*Broker {
	t.Helper()
	b1 := newTestBroker(t, func(c *Config) { memoryConfig(c); c.Node.ID = "n1" })
	secret := filepath.Join(b1.cfg.Node.DataDir, cluster.SecretFileName)
	bs := []*Broker{b1}
	for i := 2; i <= n; i++ {
		bs = append(bs, newTestBroker(t, func(c *Config) {
			memoryConfig(c)
			c.Node.ID = fmt.Sprintf("n%d", i)
			c.Cluster.SecretFile = secret
			c.Cluster.Bootstrap = false
			c.Cluster.Join = []string{b1.node.Addr()}
		}))
	}
	for _, b := range bs {
		eventually(t, 10*time.Second, fmt.Sprintf("%d voters", n), func() bool { return len(b.node.Status().Voters()) == n })
	}
	// Links are one-way: a node forwards only on its own link to a peer,
	// which its membership loop dials (PeerInterval) independently of the
	// peer's link carrying the routes. Wait for every link.
	for _, b := range bs {
		for _, o := range bs {
			if o != b {
				eventually(t, 10*time.Second, b.cfg.Node.ID+"'s link to "+o.cfg.Node.ID, func() bool { return b.router.LinkUp(o.cfg.Node.ID) })
			}
		}
	}
	return bs
}

// waitRoute waits until b sees filter advertised by node id (present) or
// not (absent).
func waitRoute(t *testing.T, b *Broker, id, filter string, present bool) {
	t.Helper()
	eventually(t, 10*time.Second, fmt.Sprintf("route %s of %s on %s present=%v", filter, id, b.cfg.Node.ID, present), func() bool {
		return slices.Contains(b.router.RemoteRoutes()[id], filter) == present
	})
}

// TestNativeClusterRouting: a clean subscriber on n1 gets QoS 0 and 1
// publishes made on n2 (paho v5, and mosquitto_sub over 3.1.1); once it
// unsubscribes, the route is withdrawn and nothing more flows.
func TestNativeClusterRouting(t *testing.T) {
	bs := newNativeCluster(t, 2)
	b1, b2 := bs[0], bs[1]

	sub := mustConnect(t, b1, "sub")
	if _, err := sub.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: "x/#", QoS: 1}, {Topic: "keep/#", QoS: 1},
	}}); err != nil {
		t.Fatal(err)
	}
	waitRoute(t, b2, "n1", "x/#", true)
	waitRoute(t, b2, "n1", "keep/#", true)
	pub := mustConnect(t, b2, "pub")
	for qos := byte(0); qos <= 1; qos++ {
		payload := fmt.Sprintf("q%d from n2", qos)
		if _, err := pub.Publish(tctx(t), &paho.Publish{Topic: "x/y", QoS: qos, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
		expectMsg(t, sub, "x/y", payload, qos)
	}
	// A v5 publisher is told there were subscribers (on the other node).
	if rc := pubRC(t, pub.Client, &paho.Publish{Topic: "x/rc", QoS: 1, Payload: []byte("rc")}); rc != 0 {
		t.Fatalf("PUBACK reason 0x%02x for a publish with a remote subscriber, want 0", rc)
	}
	expectMsg(t, sub, "x/rc", "rc", 1)

	// mosquitto_sub (3.1.1) on n1, mosquitto_pub on n2.
	ms := startMosquittoSub(t, b1.Addr("tcp"), "-V", "mqttv311", "-q", "1", "-t", "m/#", "-i", "msub", "-C", "1", "-W", "20")
	ms("SUBACK")
	waitRoute(t, b2, "n1", "m/#", true)
	host, port, _ := net.SplitHostPort(b2.Addr("tcp"))
	cmd := exec.Command("mosquitto_pub", "-h", host, "-p", port, "-V", "mqttv311", "-q", "1", "-t", "m/1", "-m", "from-mosquitto", "-i", "mpub")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v\n%s", err, out)
	}
	ms("from-mosquitto")

	// Unsubscribe x/#: the route goes, and a later x/ publish is not
	// delivered (keep/ after it on the same link arrives alone).
	if _, err := sub.Unsubscribe(tctx(t), &paho.Unsubscribe{Topics: []string{"x/#"}}); err != nil {
		t.Fatal(err)
	}
	waitRoute(t, b2, "n1", "x/#", false)
	for _, topic := range []string{"x/after", "keep/after"} {
		if _, err := pub.Publish(tctx(t), &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(topic)}); err != nil {
			t.Fatal(err)
		}
	}
	expectMsg(t, sub, "keep/after", "keep/after", 1)
}

// TestNativeClusterTakeover: a client id connecting on n2 takes over its
// older connection on n1, which gets DISCONNECT 0x8E and then EOF. The old
// connection is a raw socket: paho.golang's callbacks could hang in its
// close (a pinger racing the server's DISCONNECT), which is not the broker's
// behaviour under test.
func TestNativeClusterTakeover(t *testing.T) {
	bs := newNativeCluster(t, 2)
	old, err := net.DialTimeout("tcp", bs[0].Addr("tcp"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	_ = old.SetDeadline(time.Now().Add(20 * time.Second))
	// CONNECT v5, client id "dup", clean start, keepalive 0, no properties.
	if _, err := old.Write([]byte{0x10, 16, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 0, 0, 0, 3, 'd', 'u', 'p'}); err != nil {
		t.Fatal(err)
	}
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(old, hdr); err != nil || hdr[0] != 0x20 || hdr[1] >= 0x80 {
		t.Fatalf("CONNACK header % x: %v", hdr, err)
	}
	ca := make([]byte, hdr[1])
	if _, err := io.ReadFull(old, ca); err != nil || ca[1] != 0 {
		t.Fatalf("CONNACK % x: %v", ca, err)
	}
	// The link n2 -> n1 carries the takeover: wait until it is up.
	eventually(t, 10*time.Second, "n2's link to n1", func() bool { return bs[1].router.LinkUp("n1") })
	_ = mustConnect(t, bs[1], "dup")
	rest, err := io.ReadAll(old) // up to EOF: the server closes after the DISCONNECT
	if err != nil {
		t.Fatalf("old connection %s on n1 not closed within 20s: %v (read % x)", old.LocalAddr(), err, rest)
	}
	if len(rest) < 3 || rest[0] != 0xE0 || int(rest[1]) != len(rest)-2 || rest[2] != 0x8E {
		t.Fatalf("old connection got % x, want a DISCONNECT 0x8E then EOF", rest)
	}
	// Counted after the DISCONNECT was queued: poll.
	eventually(t, 5*time.Second, "n1 to count the takeover", func() bool {
		return bs[0].router.Stats().TakeoversDone.Load() == 1
	})
}

// TestNativeClusterShared: members of one shared group on n2 and n3 get
// each message once between them, published on n1 (no member) or on n3 (a
// member there).
func TestNativeClusterShared(t *testing.T) {
	bs := newNativeCluster(t, 3)
	var members []*testClient
	for _, b := range bs[1:] {
		c := mustConnect(t, b, "member-"+b.cfg.Node.ID)
		if _, err := c.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "$share/g/s/#", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		members = append(members, c)
	}
	// A plain subscriber on n3: n3 gets every publish for it and must still
	// leave the group to the node chosen for it.
	plain := mustConnect(t, bs[2], "plain-n3")
	if _, err := plain.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "s/#", QoS: 0}}}); err != nil {
		t.Fatal(err)
	}
	// Each member also subscribes to end/#: an end/ message published after
	// the s/ ones travels the same links, so it arrives after every copy.
	for _, m := range members {
		if _, err := m.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "end/#", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	waitRoute(t, bs[0], "n3", "s/#", true)
	for _, id := range []string{"n2", "n3"} {
		waitRoute(t, bs[0], id, "$share/g/s/#", true)
		waitRoute(t, bs[0], id, "end/#", true)
	}
	waitRoute(t, bs[2], "n2", "$share/g/s/#", true)
	waitRoute(t, bs[2], "n2", "end/#", true)
	const n = 30
	for _, b := range []*Broker{bs[0], bs[2]} { // no member / a member on the publishing node
		p := mustConnect(t, b, "sp-"+b.cfg.Node.ID)
		for i := range n {
			if _, err := p.Publish(tctx(t), &paho.Publish{Topic: "s/x", QoS: 1, Payload: []byte(fmt.Sprintf("%s-%d", b.cfg.Node.ID, i))}); err != nil {
				t.Fatal(err)
			}
		}
		end := "end-" + b.cfg.Node.ID
		if _, err := p.Publish(tctx(t), &paho.Publish{Topic: "end/x", QoS: 1, Payload: []byte(end)}); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for i, m := range members {
			for {
				msg := m.next(t)
				if msg.Topic == "end/x" {
					if string(msg.Payload) != end {
						t.Fatalf("member %d: %q, want %q", i, msg.Payload, end)
					}
					break
				}
				got[string(msg.Payload)]++
			}
		}
		if len(got) != n {
			t.Fatalf("published on %s: %d distinct messages received by the group, want %d", b.cfg.Node.ID, len(got), n)
		}
		for k, c := range got {
			if c != 1 {
				t.Fatalf("published on %s: %s delivered %d times", b.cfg.Node.ID, k, c)
			}
		}
		for i := range n {
			expectMsg(t, plain, "s/x", fmt.Sprintf("%s-%d", b.cfg.Node.ID, i), 0)
		}
	}
}

// TestNativeClusterLeave: a node that leaves has its routes forgotten by the
// others and leaves no router goroutine behind.
func TestNativeClusterLeave(t *testing.T) {
	bs := newNativeCluster(t, 3)
	s3 := mustConnect(t, bs[2], "s3")
	if _, err := s3.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "n3/#", QoS: 0}}}); err != nil {
		t.Fatal(err)
	}
	waitRoute(t, bs[0], "n3", "n3/#", true)
	// Three nodes: two links each.
	eventually(t, 10*time.Second, "6 route links", func() bool { return countGoroutines("route.(*peer).run") == 6 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bs[2].Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bs[1].node.RemoveForward(ctx, "n3"); err != nil {
		t.Fatalf("remove n3 through n2: %v", err)
	}
	for _, b := range bs[:2] {
		eventually(t, 10*time.Second, "no route of n3 on "+b.cfg.Node.ID, func() bool {
			_, ok := b.router.RemoteRoutes()["n3"]
			return !ok && len(b.node.Status().Voters()) == 2
		})
	}
	eventually(t, 10*time.Second, "2 route links and 2 membership loops", func() bool {
		return countGoroutines("route.(*peer).run") == 2 && countGoroutines("route.(*Router).membershipLoop") == 2
	})
}

// countGoroutines counts the goroutines with fn in their stack.
func countGoroutines(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	c := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			c++
		}
	}
	return c
}

// startMosquittoSub runs mosquitto_sub -d (line-buffered) against addr with args and returns
// a function that waits (15 s) for a line containing a string.
func startMosquittoSub(t *testing.T, addr string, args ...string) func(string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Line-buffered, so SUBACK is seen at once.
	cmd := exec.CommandContext(ctx, "stdbuf", append([]string{"-oL", "mosquitto_sub", "-d", "-h", host, "-p", port}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	return func(want string) {
		t.Helper()
		deadline := time.After(15 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("mosquitto_sub ended before %q", want)
				}
				if strings.Contains(l, want) {
					return
				}
			case <-deadline:
				t.Fatalf("mosquitto_sub: no %q within 15s", want)
			}
		}
	}
}
