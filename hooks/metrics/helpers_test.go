package metrics_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/hooks/metrics"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"
)

const listenerID = "t1"

// allowHook allows every connection and topic: the metrics hook must not decide.
type allowHook struct{ mqtt.HookBase }

func (h *allowHook) ID() string { return "test-allow-all" }
func (h *allowHook) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}
func (h *allowHook) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }
func (h *allowHook) OnACLCheck(*mqtt.Client, string, bool) bool              { return true }

// testBroker is a real mochi server with the metrics hook, a TCP listener on
// 127.0.0.1:0 and a real admin server serving the registry.
type testBroker struct {
	srv      *mqtt.Server
	m        *metrics.Metrics
	mqttAddr string
	adminURL string
}

func newTestBroker(t *testing.T, caps func(*mqtt.Capabilities)) *testBroker {
	t.Helper()
	opts := &mqtt.Options{
		Logger:       slog.New(slog.DiscardHandler),
		Capabilities: mqtt.NewDefaultServerCapabilities(),
	}
	if caps != nil {
		caps(opts.Capabilities)
	}
	srv := mqtt.New(opts)
	m, err := metrics.New(metrics.Options{Server: srv})
	if err != nil {
		t.Fatalf("metrics.New: %v", err)
	}
	if err := srv.AddHook(metrics.NewHook(m), nil); err != nil {
		t.Fatalf("AddHook(metrics): %v", err)
	}
	if err := srv.AddHook(new(allowHook), nil); err != nil {
		t.Fatalf("AddHook(allow): %v", err)
	}
	tcp := listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: listenerID, Address: "127.0.0.1:0"})
	if err := srv.AddListener(tcp); err != nil {
		t.Fatalf("AddListener: %v", err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })

	cfg := admin.DefaultConfig()
	cfg.Address = "127.0.0.1:0"
	cfg.RequireToken = false // loopback opt-out: these tests scrape without a token
	adm, err := admin.New(cfg, admin.Deps{Metrics: m}, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	if err := adm.Start(); err != nil {
		t.Fatalf("admin.Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := adm.Close(ctx); err != nil {
			t.Errorf("admin.Close: %v", err)
		}
	})
	return &testBroker{srv: srv, m: m, mqttAddr: tcp.Address(), adminURL: "http://" + adm.Addr()}
}

// scrape is one parsed GET /metrics.
type scrape map[string]*dto.MetricFamily

func (b *testBroker) scrape(t *testing.T) scrape {
	t.Helper()
	resp, err := http.Get(b.adminURL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value returns the value of the series of family name whose labels are exactly
// the "k=v" pairs given, and whether it exists.
func (s scrape) value(name string, labels ...string) (float64, bool) {
	mf, ok := s[name]
	if !ok {
		return 0, false
	}
	want := strings.Join(labels, ",")
	for _, m := range mf.GetMetric() {
		var got []string
		for _, lp := range m.GetLabel() {
			got = append(got, lp.GetName()+"="+lp.GetValue())
		}
		sort.Strings(got)
		if strings.Join(got, ",") != want {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// must returns the value of a series that has to exist.
func (s scrape) must(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, ok := s.value(name, labels...)
	if !ok {
		t.Fatalf("series %s{%s} missing from /metrics", name, strings.Join(labels, ","))
	}
	return v
}

// expect is one series and its wanted value.
type expect struct {
	name   string
	labels []string
	want   float64
}

func e(name string, want float64, labels ...string) expect {
	return expect{name: name, labels: labels, want: want}
}

// mismatches lists the expectations s does not meet.
func (s scrape) mismatches(exps []expect) []string {
	var out []string
	for _, x := range exps {
		got, ok := s.value(x.name, x.labels...)
		if !ok {
			out = append(out, fmt.Sprintf("%s{%s} missing, want %v", x.name, strings.Join(x.labels, ","), x.want))
			continue
		}
		if got != x.want {
			out = append(out, fmt.Sprintf("%s{%s} = %v, want %v", x.name, strings.Join(x.labels, ","), got, x.want))
		}
	}
	return out
}

// waitFor scrapes until every expectation holds, failing after a deadline.
func (b *testBroker) waitFor(t *testing.T, exps ...expect) scrape {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := b.scrape(t)
		bad := s.mismatches(exps)
		if len(bad) == 0 {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics did not converge:\n  %s", strings.Join(bad, "\n  "))
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
}

// check fails on every expectation s does not meet.
func check(t *testing.T, s scrape, exps ...expect) {
	t.Helper()
	if bad := s.mismatches(exps); len(bad) > 0 {
		t.Fatalf("unexpected metrics:\n  %s", strings.Join(bad, "\n  "))
	}
}

// connectV5 connects a paho.golang (MQTT 5) client.
func connectV5(t *testing.T, addr, id string, expiry uint32, manualAck bool, onMsg func(*paho.Publish)) *paho.Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	cfg := paho.ClientConfig{Conn: conn, EnableManualAcknowledgment: manualAck}
	if onMsg != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) {
				onMsg(pr.Packet)
				return true, nil
			},
		}
	}
	c := paho.NewClient(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cp := &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 0}
	if expiry > 0 {
		cp.Properties = &paho.ConnectProperties{SessionExpiryInterval: &expiry}
	}
	if _, err := c.Connect(ctx, cp); err != nil {
		conn.Close()
		t.Fatalf("v5 connect %s: %v", id, err)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c
}

// connectV3 connects a paho.mqtt.golang (MQTT 3.1.1) client.
func connectV3(t *testing.T, addr, id string, clean bool, onLost func()) pahov3.Client {
	t.Helper()
	o := pahov3.NewClientOptions().
		AddBroker("tcp://" + addr).
		SetClientID(id).
		SetProtocolVersion(4).
		SetCleanSession(clean).
		SetKeepAlive(0).
		SetAutoReconnect(false).
		SetConnectRetry(false)
	if onLost != nil {
		o.SetConnectionLostHandler(func(pahov3.Client, error) { onLost() })
	}
	c := pahov3.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("v3 connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func waitToken(t *testing.T, tok pahov3.Token, what string) {
	t.Helper()
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatalf("%s: timed out", what)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
