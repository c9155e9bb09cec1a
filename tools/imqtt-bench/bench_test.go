package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker"
	"github.com/rs/zerolog"
)

// newTestBroker starts an imqttd node in this process on a free loopback port, with
// the per-IP and connection limits raised as tools/compare.sh raises them.
func newTestBroker(t *testing.T) string {
	t.Helper()
	cfg := broker.EmbeddedConfig()
	cfg.Node.DataDir = t.TempDir()
	cfg.Listeners.TCP.Address = "127.0.0.1:0"
	cfg.Listeners.WS.Enabled = false
	cfg.Admin.Enabled = false
	cfg.Cluster.BindAddr = "127.0.0.1:0"
	cfg.Limits.PerIPConnections = 0
	cfg.Limits.PerIPRate = 0
	cfg.Limits.MaxConnections = 5000
	b, err := broker.New(cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
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
	return b.Addr("tcp")
}

// testConfig is a short run against addr; the broker runs in this process, so -pid
// is our own PID (it exercises the /proc sampling).
func testConfig(addr, scenario string) Config {
	c := DefaultConfig()
	c.Broker, c.Label, c.Scenario = addr, "imqttd-test", scenario
	c.Warmup, c.Duration, c.Drain = 200*time.Millisecond, time.Second, 10*time.Second
	c.PID = os.Getpid()
	c.Timeout = 10 * time.Second
	return c
}

func checkFlow(t *testing.T, res *Result, err error, minDelivered int64) {
	t.Helper()
	if err != nil {
		t.Fatalf("run: %v (errors %v)", err, res.Errors)
	}
	if len(res.Errors) > 0 {
		t.Errorf("errors: %v", res.Errors)
	}
	if res.Sent == 0 || res.Expected == 0 {
		t.Fatalf("nothing sent: %+v", res)
	}
	if res.Received != res.Expected || res.Lost != 0 || res.Duplicates != 0 {
		t.Errorf("received %d of %d expected (lost %d, dups %d)", res.Received, res.Expected, res.Lost, res.Duplicates)
	}
	if res.QoS == 1 && (res.Acked != res.Sent || res.AckedLost != 0) {
		t.Errorf("qos 1: acked %d of %d sent, acked lost %d", res.Acked, res.Sent, res.AckedLost)
	}
	if res.Latency.N < uint64(minDelivered) || res.DeliveredPerS <= 0 {
		t.Errorf("measured %d deliveries (%.0f/s), want at least %d", res.Latency.N, res.DeliveredPerS, minDelivered)
	}
	if res.Latency.P50 <= 0 || res.Latency.P99 < res.Latency.P50 || res.Latency.Max < res.Latency.P999 {
		t.Errorf("latency not ordered: %+v", res.Latency)
	}
	if res.BrokerRSSPeak <= 0 || res.BrokerCPUS <= 0 {
		t.Errorf("process sampling: rss peak %d cpu %.2f", res.BrokerRSSPeak, res.BrokerCPUS)
	}
}

func TestScenariosEndToEnd(t *testing.T) {
	addr := newTestBroker(t)
	ctx := context.Background()

	t.Run("fanin qos1 v4", func(t *testing.T) {
		c := testConfig(addr, "fanin")
		c.Pubs, c.QoS, c.Rate = 5, 1, 2000
		res, err := runFlow(ctx, c)
		checkFlow(t, res, err, 1000)
		if res.Expected != res.Sent {
			t.Errorf("fanin expected %d, want sent %d", res.Expected, res.Sent)
		}
	})
	t.Run("fanout qos1 v5", func(t *testing.T) {
		c := testConfig(addr, "fanout")
		c.Subs, c.QoS, c.Version, c.Rate = 20, 1, 5, 200
		res, err := runFlow(ctx, c)
		checkFlow(t, res, err, 2000)
		if res.Expected != 20*res.Sent {
			t.Errorf("fanout expected %d, want 20 x %d", res.Expected, res.Sent)
		}
	})
	t.Run("fanout qos0 flood", func(t *testing.T) {
		c := testConfig(addr, "fanout")
		c.Subs, c.Duration = 5, 500*time.Millisecond
		res, err := runFlow(ctx, c)
		if err != nil || res.Sent == 0 || res.Received == 0 || res.Duplicates != 0 {
			t.Fatalf("flood: err %v sent %d received %d dups %d errors %v", err, res.Sent, res.Received, res.Duplicates, res.Errors)
		}
	})
	t.Run("pairs qos1 v4", func(t *testing.T) {
		c := testConfig(addr, "pairs")
		c.Pubs, c.QoS, c.Rate = 50, 1, 1000
		res, err := runFlow(ctx, c)
		checkFlow(t, res, err, 500)
		if res.SentPerS < 500 || res.SentPerS > 1500 {
			t.Errorf("offered 1000 msg/s, sent %.0f/s", res.SentPerS)
		}
	})
	t.Run("conns 200 subscribed", func(t *testing.T) {
		c := testConfig(addr, "conns")
		c.Pubs, c.Subscribe, c.Hold, c.Settle = 200, true, 200*time.Millisecond, 100*time.Millisecond
		res, err := runConns(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if res.Connected != 200 || res.Failed != 0 || res.AliveAfterHold != 200 {
			t.Errorf("connected %d failed %d alive %d (errors %v)", res.Connected, res.Failed, res.AliveAfterHold, res.Errors)
		}
		if res.ConnectRate <= 0 || res.Handshake.N != 200 || res.Handshake.P99 < res.Handshake.P50 || res.BrokerRSSAfter <= 0 {
			t.Errorf("conns figures: %+v", res)
		}
	})
}

// TestRunOutputsAndReport drives the command line: a run prints the human table and a
// JSON line, and `report` turns JSON lines into a markdown table of medians.
func TestRunOutputsAndReport(t *testing.T) {
	addr := newTestBroker(t)
	out, _, lines := runTool(t, "-broker", addr, "-scenario", "pairs", "-pubs", "10", "-rate", "200", "-qos", "1",
		"-warmup", "100ms", "-duration", "500ms", "-json", "-label", "imqttd")
	if !strings.Contains(out, "delivered msg/s") {
		t.Errorf("no human table:\n%s", out)
	}
	if len(lines) != 1 {
		t.Fatalf("want one JSON line, got %d:\n%s", len(lines), out)
	}
	var md bytes.Buffer
	in := strings.NewReader(lines[0] + "\n" + lines[0] + "\n")
	if err := report(nil, in, &md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| pairs qos1 p=10 s=10 rate=200/s 64B v4 | imqttd | 2 |") {
		t.Errorf("report:\n%s", md.String())
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"default ok", func(*Config) {}, ""},
		{"remote refused", func(c *Config) { c.Broker = "10.0.0.1:1883" }, "-broker 10.0.0.1:1883"},
		{"remote allowed", func(c *Config) { c.Broker = "10.0.0.1:1883"; c.AllowRemote = true }, ""},
		{"localhost ok", func(c *Config) { c.Broker = "localhost:1883" }, ""},
		{"no port", func(c *Config) { c.Broker = "127.0.0.1" }, "-broker 127.0.0.1"},
		{"scenario", func(c *Config) { c.Scenario = "im" }, "-scenario im"},
		{"qos 2", func(c *Config) { c.QoS = 2 }, "-qos 2"},
		{"version", func(c *Config) { c.Version = 3 }, "-v 3"},
		{"pubs", func(c *Config) { c.Pubs = 0 }, "-pubs 0"},
		{"too many conns", func(c *Config) { c.Pubs = 20000 }, "-pubs 20000"},
		{"pairs fds", func(c *Config) { c.Scenario, c.Rate, c.Pubs = "pairs", 10, 10000 }, "-pubs 10000"},
		{"pairs need rate", func(c *Config) { c.Scenario = "pairs" }, "-rate 0"},
		{"size", func(c *Config) { c.Size = 10 }, "-size 10"},
		{"duration", func(c *Config) { c.Duration = 0 }, "-duration 0s"},
		{"inflight", func(c *Config) { c.Inflight = 70000 }, "-inflight 70000"},
	} {
		c := DefaultConfig()
		tc.mut(&c)
		checkValidate(t, tc.name, c, tc.want)
	}
	if _, err := parseFlags([]string{"-qos", "7"}, io.Discard); !errors.Is(err, ErrConfig) {
		t.Errorf("-qos 7: %v", err)
	}
}

func BenchmarkAppendPublish(b *testing.B) {
	b.ReportAllocs()
	payload := make([]byte, 64)
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(payload)))
	for range b.N {
		buf = appendPublish(buf[:0], 4, "bench/0123abcd/pair/17", 1, 42, payload)
	}
}

func BenchmarkReadDecodePublish(b *testing.B) {
	b.ReportAllocs()
	one := appendPublish(nil, 5, "bench/0123abcd/pair/17", 1, 42, make([]byte, 64))
	wire := bytes.Repeat(one, 1024)
	b.SetBytes(int64(len(one)))
	rd := bytes.NewReader(wire)
	c := &client{r: bufio.NewReaderSize(rd, 64<<10)}
	for i := range b.N {
		if i%1024 == 0 {
			rd.Reset(wire)
			c.r.Reset(rd)
		}
		_, flags, body, err := c.read()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := decodePublish(5, flags, body); err != nil {
			b.Fatal(err)
		}
	}
}

// checkValidate fails unless c.Validate accepts c (want "") or refuses it with
// an ErrConfig naming want.
func checkValidate(t *testing.T, name string, c Config, want string) {
	t.Helper()
	err := c.Validate()
	if want == "" {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		return
	}
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: err = %v, want one naming %q", name, err, want)
	}
}

// runTool runs the command line args in process; a non-zero exit fails t. It
// returns stdout, stderr and the JSON lines of stdout.
func runTool(t *testing.T, args ...string) (out, errOut string, jsonLines []string) {
	t.Helper()
	var o, e bytes.Buffer
	if code := run(context.Background(), args, &o, &e); code != 0 {
		t.Fatalf("exit %d: %s", code, e.String())
	}
	for _, l := range strings.Split(o.String(), "\n") {
		if strings.HasPrefix(l, "{") {
			jsonLines = append(jsonLines, l)
		}
	}
	return o.String(), e.String(), jsonLines
}

// lastOf returns the last of lines, "" for none.
func lastOf(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}
