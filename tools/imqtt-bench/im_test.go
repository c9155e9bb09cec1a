package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker"
	"github.com/rs/zerolog"
)

// newIMTestBroker starts an imqttd node in this process that authenticates with
// HS256 JWTs only (no anonymous IM user exists), with the IM rate limit off and
// groups of up to maxMembers. It returns the address and the secret file.
func newIMTestBroker(t *testing.T, maxMembers int) (addr, secretFile string) {
	t.Helper()
	secretFile = filepath.Join(t.TempDir(), "hs256.secret")
	if err := os.WriteFile(secretFile, []byte("imqtt-bench-test-secret-0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := broker.EmbeddedConfig()
	cfg.Node.DataDir = t.TempDir()
	cfg.Listeners.TCP.Address = "127.0.0.1:0"
	cfg.Listeners.WS.Enabled = false
	cfg.Admin.Enabled = false
	cfg.Cluster.BindAddr = "127.0.0.1:0"
	cfg.Limits.PerIPConnections = 0
	cfg.Limits.PerIPRate = 0
	cfg.Limits.MaxConnections = 5000
	cfg.Auth.AllowAnonymous = false
	cfg.Auth.JWT.Enabled = true
	cfg.Auth.JWT.Algorithms = []string{"HS256"}
	cfg.Auth.JWT.HMACSecretFile = secretFile
	cfg.IM.RateLimit.MessagesPerSecond = 0
	cfg.IM.GroupMaxMembers = maxMembers
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
	return b.Addr("tcp"), secretFile
}

func imTestConfig(addr, secret, scenario string) Config {
	c := testConfig(addr, scenario)
	c.QoS, c.JWTSecretFile = 1, secret
	return c
}

// checkIM checks an IM run: every acked send delivered once to every target,
// nothing refused, latencies ordered.
func checkIM(t *testing.T, res *Result, err error, wantPerMsg int64) {
	t.Helper()
	if err != nil {
		t.Fatalf("run: %v (errors %v)", err, res.Errors)
	}
	if len(res.Errors) > 0 {
		t.Errorf("errors: %v", res.Errors)
	}
	if res.Sent == 0 || res.Acked != res.Sent {
		t.Fatalf("sent %d, acked %d", res.Sent, res.Acked)
	}
	if res.Expected != wantPerMsg*res.Sent {
		t.Errorf("expected %d deliveries, want %d x %d", res.Expected, wantPerMsg, res.Sent)
	}
	if res.Received != res.Expected || res.Lost != 0 || res.AckedLost != 0 || res.Duplicates != 0 {
		t.Errorf("received %d of %d (lost %d, acked lost %d, dups %d)", res.Received, res.Expected, res.Lost, res.AckedLost, res.Duplicates)
	}
	if res.Latency.N == 0 || res.Latency.P50 <= 0 || res.Latency.P99 < res.Latency.P50 || res.Latency.Max < res.Latency.P999 {
		t.Errorf("latency: %+v", res.Latency)
	}
	if res.AckLatency.N == 0 || res.AckLatency.P50 <= 0 {
		t.Errorf("ack latency: %+v", res.AckLatency)
	}
	if res.DeliveredPerS <= 0 || res.SentPerS <= 0 {
		t.Errorf("rates: sent %.0f/s delivered %.0f/s", res.SentPerS, res.DeliveredPerS)
	}
}

func TestIMScenariosEndToEnd(t *testing.T) {
	addr, secret := newIMTestBroker(t, 600)
	ctx := context.Background()

	t.Run("imchat 10 pairs 500/s v4", func(t *testing.T) {
		c := imTestConfig(addr, secret, "imchat")
		c.Pubs, c.Rate = 10, 500
		res, err := runIM(ctx, c)
		checkIM(t, res, err, 1)
		if res.Subs != 10 || !strings.HasPrefix(res.name(), "imchat qos1 p=10 s=10 rate=500/s") {
			t.Errorf("name %q", res.name())
		}
	})
	t.Run("imchat flood v5", func(t *testing.T) {
		c := imTestConfig(addr, secret, "imchat")
		c.Pubs, c.Version, c.Inflight, c.Duration = 4, 5, 20, 500*time.Millisecond
		res, err := runIM(ctx, c)
		checkIM(t, res, err, 1)
	})
	t.Run("imchat with read receipts", func(t *testing.T) {
		c := imTestConfig(addr, secret, "imchat")
		c.Pubs, c.Rate, c.Receipts = 4, 200, 1
		res, err := runIM(ctx, c)
		checkIM(t, res, err, 1)
		// Every delivery is receipted; each receipt moves the sender's view of
		// the recipient's cursor, so the sender hears of every one (the last
		// ones may still be on their way when the run stops).
		if res.ReceiptsSent != res.Received || res.ReceiptsReceived == 0 || res.ReceiptsReceived > res.ReceiptsSent {
			t.Errorf("receipts sent %d (received messages %d), received %d", res.ReceiptsSent, res.Received, res.ReceiptsReceived)
		}
		if res.ReceiptsReceived < res.ReceiptsSent*9/10 {
			t.Errorf("only %d of %d receipt events reached the senders", res.ReceiptsReceived, res.ReceiptsSent)
		}
	})
	t.Run("imgroup 300 members", func(t *testing.T) {
		// 300 members need a group.create and one group.invite.
		c := imTestConfig(addr, secret, "imgroup")
		c.Subs, c.Pubs, c.Rate = 300, 2, 20
		res, err := runIM(ctx, c)
		checkIM(t, res, err, 300)
	})
	t.Run("imgroup above group_max_members", func(t *testing.T) {
		c := imTestConfig(addr, secret, "imgroup")
		c.Subs, c.Pubs, c.Rate = 601, 1, 10
		_, err := runIM(ctx, c)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "im.group_max_members") {
			t.Errorf("err = %v, want a refusal naming im.group_max_members", err)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "other.secret")
		if err := os.WriteFile(bad, bytes.Repeat([]byte("x"), 40), 0o600); err != nil {
			t.Fatal(err)
		}
		c := imTestConfig(addr, bad, "imchat")
		c.Pubs, c.Rate = 1, 10
		_, err := runIM(ctx, c)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "connack code 0x04") {
			t.Errorf("err = %v, want CONNACK 0x04 (bad username or password)", err)
		}
	})
}

// TestIMCommandLine drives imchat through the command line: flags, the human table,
// the JSON line and the report.
func TestIMCommandLine(t *testing.T) {
	addr, secret := newIMTestBroker(t, 1000)
	out, _, lines := runTool(t, "-broker", addr, "-scenario", "imchat", "-pubs", "5", "-rate", "200",
		"-jwt-secret-file", secret, "-warmup", "100ms", "-duration", "500ms", "-json", "-label", "imqttd")
	line := lastOf(lines)
	if !strings.Contains(out, "delivered msg/s") || line == "" {
		t.Fatalf("output:\n%s", out)
	}
	var md bytes.Buffer
	if err := report(nil, strings.NewReader(line+"\n"), &md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| imchat qos1 p=5 s=5 rate=200/s 64B v4 | imqttd | 1 |") {
		t.Errorf("report:\n%s", md.String())
	}
}

func TestValidateIM(t *testing.T) {
	im := func(scenario string) Config {
		c := DefaultConfig()
		c.Scenario, c.QoS, c.JWTSecretFile = scenario, 1, "/tmp/secret"
		return c
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		mut  func(*Config)
		want string
	}{
		{"imchat ok", im("imchat"), func(*Config) {}, ""},
		{"imgroup ok", im("imgroup"), func(c *Config) { c.Subs, c.Pubs = 10000, 1 }, ""},
		{"no secret", im("imchat"), func(c *Config) { c.JWTSecretFile = "" }, "-jwt-secret-file"},
		{"qos 0", im("imgroup"), func(c *Config) { c.QoS = 0 }, "-qos 0"},
		{"body too small", im("imchat"), func(c *Config) { c.Size = 39 }, "-size 39"},
		{"body too large", im("imchat"), func(c *Config) { c.Size = maxIMBody + 1 }, "-size 16385"},
		{"imchat fds", im("imchat"), func(c *Config) { c.Pubs = 10000 }, "-pubs 10000"},
		{"senders not members", im("imgroup"), func(c *Config) { c.Subs, c.Pubs = 5, 6 }, "-pubs 6"},
		{"imgroup fds", im("imgroup"), func(c *Config) { c.Subs, c.Pubs = 19900, 1 }, "-subs 19900"},
	} {
		c := tc.cfg
		tc.mut(&c)
		checkValidate(t, tc.name, c, tc.want)
	}
	// IM scenarios default to QoS 1; an explicit -qos 0 is refused.
	c, err := parseFlags([]string{"-scenario", "imchat", "-jwt-secret-file", "x"}, io.Discard)
	if err != nil || c.QoS != 1 {
		t.Errorf("imchat without -qos: qos %d, err %v", c.QoS, err)
	}
	if _, err := parseFlags([]string{"-scenario", "imgroup", "-qos", "0", "-jwt-secret-file", "x"}, io.Discard); !errors.Is(err, ErrConfig) {
		t.Errorf("imgroup -qos 0: err = %v", err)
	}
	if c, err := parseFlags([]string{"-scenario", "fanin"}, io.Discard); err != nil || c.QoS != 0 {
		t.Errorf("fanin keeps qos 0: %d %v", c.QoS, err)
	}
}
