package broker

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/imqtt/imqtt/broker/adminapi"
)

// memoryConfig runs a test node without durable storage (sessions in the
// engine's memory) and without IM.
func memoryConfig(c *Config) {
	c.Storage.Enabled = false
	c.IM.Enabled = false
}

// TestNativeEngineServes runs a node on mqtt.engine: native and checks the
// parts the broker wires around it: the ACL (a denied publish gets 0x87, a
// denied subscription 0x87), anonymous access on loopback through the auth
// hook, delivery, and the metrics families filled by the engine's observer.
func TestNativeEngineServes(t *testing.T) {
	b := newTestBroker(t, func(c *Config) {
		memoryConfig(c)
		c.ACL.Rules = []string{"topic readwrite open/#", "topic read ro/#"}
	})
	sub := mustConnect(t, b, "native-sub")
	if _, err := sub.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "open/#", QoS: 1}}}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	sa, err := sub.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "secret/#", QoS: 1}}})
	if sa == nil || len(sa.Reasons) != 1 || sa.Reasons[0] != 0x87 {
		t.Fatalf("subscribe to a denied filter: %+v, %v; want reason 0x87", sa, err)
	}
	pub := mustConnect(t, b, "native-pub")
	if rc := pubRC(t, pub.Client, &paho.Publish{Topic: "open/a", QoS: 1, Payload: []byte("hello")}); rc != 0 {
		t.Fatalf("allowed publish: 0x%02x", rc)
	}
	if m := sub.next(t); m.Topic != "open/a" || string(m.Payload) != "hello" {
		t.Fatalf("got %s %q", m.Topic, m.Payload)
	}
	if rc := pubRC(t, pub.Client, &paho.Publish{Topic: "ro/x", QoS: 1, Payload: []byte("no")}); rc != 0x87 {
		t.Fatalf("publish to a read-only topic: 0x%02x, want 0x87", rc)
	}

	resp := adminGet(t, b, "/metrics")
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`imqtt_connections_active{listener="tcp"} 2`,
		`imqtt_acl_denied_total{access="write"} 1`,
		`imqtt_acl_denied_total{access="subscribe"} 1`,
		`imqtt_messages_received_total{qos="1"} 2`,
		`imqtt_messages_sent_total{qos="1"} 1`,
		`imqtt_packets_received_total{type="subscribe"} 2`,
		`imqtt_packets_sent_total{type="suback"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if resp := adminGet(t, b, "/readyz"); resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %d", resp.StatusCode)
	}
}

// TestNativeEngineAuth checks anonymous access is refused off loopback
// rules: with allow_anonymous off, a client without credentials gets 0x87.
func TestNativeEngineAuth(t *testing.T) {
	b := newTestBroker(t, func(c *Config) {
		memoryConfig(c)
		c.Auth.AllowAnonymous = false
	})
	c, err := connect(t, b, &paho.Connect{ClientID: "anon", CleanStart: true, KeepAlive: 30})
	if err == nil || c.connack == nil || c.connack.ReasonCode != 0x87 {
		t.Fatalf("anonymous connect: %v (connack %+v), want a 0x87 refusal", err, c.connack)
	}
}

// TestNativeEngineConfigRefusals checks an unknown engine fails at New,
// naming the key, and that the native engine accepts storage with
// cluster.join (durable sessions across a cluster).
func TestNativeEngineConfigRefusals(t *testing.T) {
	ok := EmbeddedConfig()
	ok.Node.DataDir = t.TempDir()
	ok.MQTT.Engine, ok.Storage.Enabled = EngineNative, true
	ok.Cluster.Join = []string{"127.0.0.1:1"}
	ok.Cluster.Bootstrap = false
	ok.Cluster.SecretFile = "/nonexistent/cluster.secret" // not read by Validate
	if err := ok.Validate(); err != nil {
		t.Fatalf("native engine with storage and cluster.join: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"unknown", func(c *Config) { c.MQTT.Engine = "turbo" }, "mqtt.engine"},
		{"mochi", func(c *Config) { c.MQTT.Engine = "mochi" }, "mqtt.engine: mochi: the mochi path was removed in issue 17; remove mqtt.engine or set it to native"},
		{"poller", func(c *Config) { c.MQTT.Poller = "kqueue" }, "mqtt.poller: kqueue: must be epoll or goroutine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := EmbeddedConfig()
			cfg.Node.DataDir = t.TempDir()
			tc.mutate(&cfg)
			err := cfg.Validate()
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v; want ErrInvalidConfig naming %s", err, tc.want)
			}
		})
	}
}

// TestNativeAdminAPI checks the admin API is mounted on the native engine
// and reads it: the client list with listener and connected_at, health's
// client count, the empty route table, and a kick that reaches the v5
// client as DISCONNECT 0x98.
func TestNativeAdminAPI(t *testing.T) {
	b := newTestBroker(t, memoryConfig)
	c := mustConnect(t, b, "native-admin")
	if _, err := c.Subscribe(tctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "a/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	var page adminapi.Page[adminapi.Client]
	adminJSON(t, b, http.MethodGet, "/api/v1/clients", http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].ClientID != "native-admin" || page.Items[0].Listener != "tcp" ||
		page.Items[0].ConnectedAt == nil || page.Items[0].SubscriptionCount != 1 || page.Items[0].Remote == "" {
		t.Fatalf("clients %+v", page.Items)
	}
	var h adminapi.Health
	adminJSON(t, b, http.MethodGet, "/api/v1/health", http.StatusOK, &h)
	if h.Status != adminapi.HealthOK || h.Clients != 1 {
		t.Fatalf("health %+v", h)
	}
	var rt adminapi.RouteTable
	adminJSON(t, b, http.MethodGet, "/api/v1/cluster/routes", http.StatusOK, &rt)
	// The native router's table: the client's clean subscription, no peers.
	if len(rt.Local) != 1 || rt.Local[0] != "a/#" || rt.Remote == nil || len(rt.Remote) != 0 {
		t.Fatalf("routes %+v, want local [a/#] and no remote", rt)
	}
	adminJSON(t, b, http.MethodDelete, "/api/v1/clients/native-admin", http.StatusOK, nil)
	select {
	case d := <-c.discon:
		if d.ReasonCode != 0x98 {
			t.Fatalf("DISCONNECT reason 0x%02x, want 0x98", d.ReasonCode)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the kicked client saw no DISCONNECT")
	}
}

// adminJSON sends method path to b's admin listener with its token, checks
// the status and decodes the JSON answer into out (when non-nil).
func adminJSON(t *testing.T, b *Broker, method, path string, status int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+b.Addr("admin")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(b.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, body, status)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, body, err)
		}
	}
}
