package broker

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestMessageWithoutExpiryStaysWithout: mochi stamps a 24 h Message Expiry on
// every PUBLISH by default; imqtt must not [MQTT-3.3.2-5].
func TestMessageWithoutExpiryStaysWithout(t *testing.T) {
	b := newTestBroker(t, nil)
	sub := mustConnect(t, b, "sub")
	if _, err := sub.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "x/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	pub := mustConnect(t, b, "pub")
	resp, err := pub.Publish(tctx(t), &paho.Publish{Topic: "x/1", QoS: 1, Payload: []byte("p"),
		Properties: &paho.PublishProperties{User: paho.UserProperties{{Key: "k", Value: "v"}}}})
	if err != nil {
		t.Fatal(err)
	}
	// The PUBACK must not echo the PUBLISH's user properties.
	if resp.Properties != nil && len(resp.Properties.User) > 0 {
		t.Fatalf("PUBACK carries user properties %v", resp.Properties.User)
	}
	m := sub.next(t)
	if m.Properties != nil && m.Properties.MessageExpiry != nil {
		t.Fatalf("message got a Message Expiry of %d s it was not published with", *m.Properties.MessageExpiry)
	}
	// A message published with an expiry keeps it (counting down, never above).
	exp := uint32(100)
	if _, err := pub.Publish(tctx(t), &paho.Publish{Topic: "x/2", QoS: 1, Payload: []byte("p"),
		Properties: &paho.PublishProperties{MessageExpiry: &exp}}); err != nil {
		t.Fatal(err)
	}
	m = sub.next(t)
	if m.Properties == nil || m.Properties.MessageExpiry == nil || *m.Properties.MessageExpiry > 100 {
		t.Fatalf("expiry not forwarded: %+v", m.Properties)
	}
}

// TestKeepaliveBounds: v5 clients asking for 0 or more than the maximum get Server
// Keep Alive = max; below the minimum they get the minimum.
func TestKeepaliveBounds(t *testing.T) {
	b := newTestBroker(t, func(c *Config) {
		c.Limits.MinKeepalive = 5 * time.Second
		c.Limits.MaxKeepalive = 60 * time.Second
	})
	cases := []struct {
		ask  uint16
		want uint16 // 0 = no Server Keep Alive expected
	}{{120, 60}, {1, 5}, {30, 0}}
	for _, c := range cases {
		cl, err := connect(t, b, &paho.Connect{ClientID: "ka", CleanStart: true, KeepAlive: c.ask})
		if err != nil {
			t.Fatal(err)
		}
		var got uint16
		if cl.connack.Properties != nil && cl.connack.Properties.ServerKeepAlive != nil {
			got = *cl.connack.Properties.ServerKeepAlive
		}
		if got != c.want {
			t.Errorf("keepalive %d: Server Keep Alive %d, want %d", c.ask, got, c.want)
		}
		if cl.connack.Properties == nil || cl.connack.Properties.MaximumPacketSize == nil || *cl.connack.Properties.MaximumPacketSize != b.cfg.Limits.MaxPacketSize {
			t.Errorf("CONNACK does not advertise Maximum Packet Size %d", b.cfg.Limits.MaxPacketSize)
		}
		_ = cl.Disconnect(&paho.Disconnect{})
	}
}

// TestTopicAliasIsCheckedAsItsTopic: a PUBLISH that carries only a topic alias is
// judged by the ACL as the aliased topic (mochi checks before resolving it).
func TestTopicAliasIsCheckedAsItsTopic(t *testing.T) {
	b := newTestBroker(t, func(c *Config) {
		c.ACL.Rules = []string{"topic readwrite allowed/#", "topic deny secret/#"}
	})
	sub := mustConnect(t, b, "sub")
	if _, err := sub.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "allowed/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	pub := mustConnect(t, b, "pub")
	alias := uint16(1)
	if _, err := pub.Publish(tctx(t), &paho.Publish{Topic: "allowed/a", QoS: 1, Payload: []byte("first"), Properties: &paho.PublishProperties{TopicAlias: &alias}}); err != nil {
		t.Fatal(err)
	}
	if m := sub.next(t); string(m.Payload) != "first" {
		t.Fatalf("got %q", m.Payload)
	}
	// Alias only: paho sends an empty topic name when the alias is set and known.
	if rc := pubRC(t, pub.Client, &paho.Publish{Topic: "", QoS: 1, Payload: []byte("second"), Properties: &paho.PublishProperties{TopicAlias: &alias}}); rc >= 0x80 {
		t.Fatalf("alias-only publish to an allowed topic refused with %#x", rc)
	}
	if m := sub.next(t); string(m.Payload) != "second" || m.Topic != "allowed/a" {
		t.Fatalf("got %s %q", m.Topic, m.Payload)
	}
	// An alias bound to a denied topic stays denied when used alone.
	alias2 := uint16(2)
	if rc := pubRC(t, pub.Client, &paho.Publish{Topic: "secret/x", QoS: 1, Payload: []byte("s"), Properties: &paho.PublishProperties{TopicAlias: &alias2}}); rc != 0x87 {
		t.Fatalf("publish to a denied topic: reason %#x, want 0x87", rc)
	}
	if rc := pubRC(t, pub.Client, &paho.Publish{Topic: "", QoS: 1, Payload: []byte("s2"), Properties: &paho.PublishProperties{TopicAlias: &alias2}}); rc != 0x87 {
		t.Fatalf("alias-only publish to a denied topic: reason %#x, want 0x87", rc)
	}
}

// TestSysTopics: $SYS is published by the broker, readable on the embedded
// default, and never writable.
func TestSysTopics(t *testing.T) {
	b := newTestBroker(t, func(c *Config) { c.MQTT.SysInterval = time.Second })
	sub := mustConnect(t, b, "sys")
	if _, err := sub.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "$SYS/broker/clients/connected", QoS: 0}}}); err != nil {
		t.Fatal(err)
	}
	if m := sub.next(t); m.Topic != "$SYS/broker/clients/connected" {
		t.Fatalf("got %s", m.Topic)
	}
	if rc := pubRC(t, sub.Client, &paho.Publish{Topic: "$SYS/broker/version", QoS: 1, Payload: []byte("fake")}); rc < 0x80 {
		t.Fatalf("a client wrote to $SYS (reason %#x)", rc)
	}
}

// TestPanicIsContained sends mochi issue #501's truncated MQTT 5 SUBSCRIBE,
// which panicked mochi v2.7.9's decoder: that client is dropped and forgotten,
// everyone else is served.
func TestPanicIsContained(t *testing.T) {
	b := newTestBroker(t, nil)
	other := mustConnect(t, b, "bystander")
	if _, err := other.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "still/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}

	conn, err := net.Dial("tcp", b.Addr("tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	connect := []byte{0x10, 0x11, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x02, 0x00, 0x3c, 0x00, 0x00, 0x04, 'e', 'v', 'i', 'l'}
	if _, err := conn.Write(connect); err != nil {
		t.Fatal(err)
	}
	connack := make([]byte, 64)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(connack); err != nil || n < 2 || connack[0] != 0x20 {
		t.Fatalf("no CONNACK: %v % x", err, connack[:n])
	}
	if _, err := conn.Write([]byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(conn); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Logf("read after panic: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := b.engine.Client("evil"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the panicked clean-session client is still in the client table")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pub := mustConnect(t, b, "after")
	if _, err := pub.Publish(tctx(t), &paho.Publish{Topic: "still/here", QoS: 1, Payload: []byte("ok")}); err != nil {
		t.Fatal(err)
	}
	if m := other.next(t); string(m.Payload) != "ok" {
		t.Fatalf("got %q", m.Payload)
	}
}

// scrape returns the /metrics lines of one family.
func scrape(t *testing.T, b *Broker, family string) string {
	t.Helper()
	resp := adminGet(t, b, "/metrics")
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), family) {
			lines = append(lines, sc.Text())
		}
	}
	return strings.Join(lines, "\n")
}

// TestReadyAndMetrics: /readyz is 200 while serving, /metrics counts connections.
func TestReadyAndMetrics(t *testing.T) {
	b := newTestBroker(t, nil)
	mustConnect(t, b, "m1")
	resp, err := http.Get("http://" + b.Addr("admin") + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/readyz %d", resp.StatusCode)
	}
	// The engine's observer counts the connection after it wrote the
	// CONNACK the client returned on: the gauge may lag a moment.
	deadline := time.Now().Add(5 * time.Second)
	for {
		v := scrape(t, b, "imqtt_connections_active")
		if strings.Contains(v, `listener="tcp"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connections_active: %q", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReloadKeepsOldACLOnBrokenFile: SIGHUP's Reload with a broken rules file
// keeps the old rules in force and reports the error; a good file takes effect.
func TestReloadKeepsOldACLOnBrokenFile(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "acl.conf")
	if err := os.WriteFile(rules, []byte("topic readwrite open/#\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := newTestBroker(t, func(c *Config) { c.ACL.Rules = nil; c.ACL.File = rules })
	cl := mustConnect(t, b, "r")
	try := func(topic string) byte {
		return pubRC(t, cl.Client, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte("x")})
	}
	if rc := try("open/1"); rc != 0 {
		t.Fatalf("open/1 refused %#x", rc)
	}
	if err := os.WriteFile(rules, []byte("topic readwrite open/#\ntopic bogus x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(); err == nil || !strings.Contains(err.Error(), "acl.conf:2") {
		t.Fatalf("reload of a broken file: %v (want an error naming acl.conf:2)", err)
	}
	if rc := try("open/2"); rc != 0 {
		t.Fatalf("old rules lost after a failed reload: %#x", rc)
	}
	if err := os.WriteFile(rules, []byte("topic readwrite other/#\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(); err != nil {
		t.Fatal(err)
	}
	if rc := try("open/3"); rc != 0x87 {
		t.Fatalf("new rules not in force: open/3 got %#x", rc)
	}
}

// TestSecondBrokerOnSameDataDir fails with ErrDataDirLocked.
func TestSecondBrokerOnSameDataDir(t *testing.T) {
	dir := t.TempDir()
	newTestBroker(t, func(c *Config) { c.Node.DataDir = dir })
	cfg := EmbeddedConfig()
	cfg.Node.DataDir = dir
	cfg.Listeners.TCP.Address, cfg.Listeners.WS.Address, cfg.Admin.Address = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Cluster.BindAddr = "127.0.0.1:0"
	_, err := New(cfg, testLogger(t))
	if !errors.Is(err, ErrDataDirLocked) {
		t.Fatalf("second broker: %v, want ErrDataDirLocked", err)
	}
}

// TestCloseIsIdempotent and safe before Start.
func TestCloseIsIdempotent(t *testing.T) {
	cfg := EmbeddedConfig()
	cfg.Node.DataDir = t.TempDir()
	cfg.Listeners.TCP.Address, cfg.Listeners.WS.Address, cfg.Admin.Address = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Cluster.BindAddr = "127.0.0.1:0"
	b, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr("tcp")
	for i := 0; i < 2; i++ {
		if err := b.Close(tctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	// The port is free again.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listener port not released: %v", err)
	}
	ln.Close()
	if err := b.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
}

// TestReservedTopicPublishIsAnswered: mochi drops a PUBLISH to $share/... without
// an ack; imqtt answers v5 with 0x87 so the publisher does not hang.
func TestReservedTopicPublishIsAnswered(t *testing.T) {
	b := newTestBroker(t, nil)
	c := mustConnect(t, b, "res")
	for _, topic := range []string{"$SYS/x", "$sys/x", "$share/g/x"} {
		for _, qos := range []byte{1, 2} {
			if rc := pubRC(t, c.Client, &paho.Publish{Topic: topic, QoS: qos, Payload: []byte("x")}); rc != 0x87 {
				t.Errorf("%s qos %d: reason %#x, want 0x87", topic, qos, rc)
			}
		}
	}
}

// TestOversizePacketGetsDisconnect0x95: a PUBLISH above limits.max_packet_size is
// refused before it is read; an MQTT 5 client is told why (DISCONNECT 0x95).
func TestOversizePacketGetsDisconnect0x95(t *testing.T) {
	b := newTestBroker(t, func(c *Config) { c.Limits.MaxPacketSize = 4096; c.Limits.MaxFirstPacket = 4096 })
	c := mustConnect(t, b, "big")
	_, _ = c.Publish(tctx(t), &paho.Publish{Topic: "big", QoS: 1, Payload: make([]byte, 8192)})
	select {
	case d := <-c.discon:
		if d.ReasonCode != 0x95 {
			t.Fatalf("DISCONNECT reason %#x, want 0x95", d.ReasonCode)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no DISCONNECT 0x95")
	}
	if v := scrape(t, b, "imqtt_connections_rejected_total"); !strings.Contains(v, `reason="packet_too_large"} 1`) {
		t.Fatalf("rejection not counted: %q", v)
	}
	// The broker keeps serving.
	mustConnect(t, b, "small")
}

// TestPprofOnlyWhenEnabled: /debug/pprof/ (and its freeosmemory trigger)
// exists only with admin.pprof.
func TestPprofOnlyWhenEnabled(t *testing.T) {
	for _, on := range []bool{false, true} {
		b := newTestBroker(t, func(c *Config) { c.Admin.Pprof = on })
		resp := adminGet(t, b, "/debug/pprof/")
		if got, want := resp.StatusCode == 200, on; got != want {
			t.Errorf("pprof %v: status %d", on, resp.StatusCode)
		}
		resp = adminGet(t, b, "/debug/pprof/freeosmemory")
		if got, want := resp.StatusCode == http.StatusNoContent, on; got != want {
			t.Errorf("freeosmemory %v: status %d", on, resp.StatusCode)
		}
	}
}

// TestAdminTokenByDefault: the embedded default generates the admin token in
// the data directory, /metrics needs it, and a refused request is counted in
// imqtt_limit_refusals_total.
func TestAdminTokenByDefault(t *testing.T) {
	dir := t.TempDir()
	b := newTestBroker(t, func(c *Config) { c.Node.DataDir = dir })
	if got, want := b.AdminTokenFile(), filepath.Join(dir, AdminTokenFile); got != want {
		t.Fatalf("AdminTokenFile() = %q, want %q", got, want)
	}
	resp, err := http.Get("http://" + b.Addr("admin") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without the token: %d, want 401", resp.StatusCode)
	}
	if r := adminGet(t, b, "/api/v1/sessions", "Host", "attacker.example"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign Host: %d, want 403", r.StatusCode)
	}
	v := scrape(t, b, "imqtt_limit_refusals_total")
	if !strings.Contains(v, `limit="admin_host"} 1`) || !strings.Contains(v, `limit="admin_token"} 1`) {
		t.Fatalf("refusals not counted: %q", v)
	}
}
