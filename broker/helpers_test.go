package broker

import (
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/testkit"
)

// newTestBroker starts a node on the embedded default with every listener on a
// free loopback port and data in a temp dir; mutate may adjust the config first.
func newTestBroker(t *testing.T, mutate func(*Config)) *Broker {
	t.Helper()
	cfg := EmbeddedConfig()
	cfg.Node.DataDir = t.TempDir()
	cfg.Listeners.TCP.Address = "127.0.0.1:0"
	cfg.Listeners.WS.Address = "127.0.0.1:0"
	cfg.Admin.Address = "127.0.0.1:0"
	cfg.Cluster.BindAddr = "127.0.0.1:0"
	if mutate != nil {
		mutate(&cfg)
	}
	b, err := New(cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel))
	if err != nil {
		t.Fatalf("new broker: %v", err)
	}
	if err := b.Start(); err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("close broker: %v", err)
		}
	})
	return b
}

// adminGet sends GET path to b's admin listener with its bearer token (read
// from b.AdminTokenFile) and extra headers ("Host" sets the Host header).
func adminGet(t *testing.T, b *Broker, path string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+b.Addr("admin")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f := b.AdminTokenFile(); f != "" {
		tok, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

type testClient struct {
	*paho.Client
	msgs    chan *paho.Publish
	discon  chan *paho.Disconnect
	connack *paho.Connack
}

// connect dials the tcp listener and connects an MQTT 5 client.
func connect(t *testing.T, b *Broker, cp *paho.Connect) (*testClient, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", b.Addr("tcp"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := &testClient{msgs: make(chan *paho.Publish, 100), discon: make(chan *paho.Disconnect, 1)}
	c.Client = paho.NewClient(paho.ClientConfig{
		Conn:     conn,
		ClientID: cp.ClientID,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) { c.msgs <- pr.Packet; return true, nil },
		},
		OnServerDisconnect: func(d *paho.Disconnect) { c.discon <- d },
	})
	if cp.KeepAlive == 0 {
		cp.KeepAlive = 30
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.connack, err = c.Connect(ctx, cp)
	if err != nil {
		return c, err
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c, nil
}

func mustConnect(t *testing.T, b *Broker, id string) *testClient {
	t.Helper()
	c, err := connect(t, b, &paho.Connect{ClientID: id, CleanStart: true})
	if err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	return c
}

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (c *testClient) next(t *testing.T) *paho.Publish {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	return nil
}

func testLogger(t *testing.T) zerolog.Logger {
	return testkit.Logger(t, zerolog.InfoLevel)
}

// pubRC publishes at QoS 1/2 and returns the ack's reason code (paho returns an
// error alongside the response for codes >= 0x80).
func pubRC(t *testing.T, c *paho.Client, p *paho.Publish) byte {
	t.Helper()
	resp, err := c.Publish(tctx(t), p)
	if resp != nil {
		return resp.ReasonCode
	}
	if err != nil {
		t.Fatalf("publish %s: %v", p.Topic, err)
	}
	return 0
}

// retainedOn is the payload of b's retained message at topic ("" if none),
// read from the engine.
func retainedOn(b *Broker, topic string) string {
	for _, r := range b.engine.Retained(topic) {
		return string(r.Payload)
	}
	return ""
}
