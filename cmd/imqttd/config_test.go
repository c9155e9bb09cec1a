package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleConfigLoadsAndValidates(t *testing.T) {
	cfg, err := loadConfig(filepath.Join("..", "..", "configs", "imqttd.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("configs/imqttd.yaml does not validate: %v", err)
	}
	cfg, err = loadConfig(filepath.Join("..", "..", "configs", "paho-conformance.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("configs/paho-conformance.yaml does not validate: %v", err)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, yaml string
		env        []string
		want       []string // substrings of the error
	}{
		{"unknown top key", "nodes:\n  id: x\n", nil, []string{"line 1", "nodes", "unknown key"}},
		{"unknown nested key", "listeners:\n  tcp:\n    adress: 127.0.0.1:1\n", nil, []string{"line 3", "listeners.tcp.adress", "unknown key"}},
		{"bad duration", "limits:\n  connect_timeout: soon\n", nil, []string{"limits.connect_timeout", "soon"}},
		{"bad bool", "auth:\n  allow_anonymous: maybe\n", nil, []string{"auth.allow_anonymous", "maybe"}},
		{"bad owner_mismatch", "session:\n  owner_mismatch: steal\n", nil, []string{"session.owner_mismatch", "steal"}},
		{"negative max_per_user", "session:\n  max_per_user: -1\n", nil, []string{"session.max_per_user", "-1"}},
		{"negative max_queued_bytes", "limits:\n  max_queued_bytes: -1\n", nil, []string{"max_queued_bytes", "-1"}},
		{"negative max_subscriptions", "limits:\n  max_subscriptions_per_client: -5\n", nil, []string{"limits.max_subscriptions_per_client", "-5"}},
		{"bad int", "limits:\n  max_packet_size: -5\n", nil, []string{"limits.max_packet_size"}},
		{"list expected", "acl:\n  rules: topic read x\n", nil, []string{"acl.rules"}},
		{"unknown env", "", []string{"IMQTT_NOPE=1"}, []string{"IMQTT_NOPE", "no such config key"}},
		{"bad env value", "", []string{"IMQTT_LIMITS_CONNECT_TIMEOUT=later"}, []string{"limits.connect_timeout", "later"}},
		{"invalid value", "mqtt:\n  max_qos: 3\n", nil, []string{"mqtt.max_qos", "3"}},
		{"invalid listener kind", "listeners:\n  tcp:\n    kind: udp\n", nil, []string{"listeners.tcp", "udp"}},
		{"tls without cert", "listeners:\n  tls:\n    enabled: true\n", nil, []string{"listeners.tls", "cert"}},
		{"keepalive order", "limits:\n  min_keepalive: 100s\n  max_keepalive: 10s\n", nil, []string{"min_keepalive"}},
		{"log level", "log:\n  level: loud\n", nil, []string{"log.level", "loud"}},
		{"topic levels", "limits:\n  max_topic_levels: 0\n", nil, []string{"max_topic_levels", "0"}},
		{"throttle keys", "auth:\n  throttle:\n    max_keys: 0\n", nil, []string{"auth.throttle.max_keys", "0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, "c.yaml", c.yaml)
			var stdout, stderr bytes.Buffer
			code := run([]string{"config", "check", path}, nil, &stdout, &stderr, c.env)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stdout %q stderr %q", code, stdout.String(), stderr.String())
			}
			for _, w := range c.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("error %q does not contain %q", stderr.String(), w)
				}
			}
		})
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "c.yaml", "node:\n  id: fromfile\nlimits:\n  max_packet_size: 2048\n  connect_timeout: 3s\n")
	env := []string{"IMQTT_NODE_ID=fromenv", "IMQTT_LIMITS_CONNECT_TIMEOUT=4s", "IMQTT_ACL_RULES=[\"topic read a/#\"]", "UNRELATED=1"}
	cfg, err := loadConfig(path, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Node.ID != "fromenv" || cfg.Limits.MaxPacketSize != 2048 || cfg.Limits.ConnectTimeout != 4*time.Second {
		t.Fatalf("precedence wrong: %+v %+v", cfg.Node, cfg.Limits)
	}
	if len(cfg.ACL.Rules) != 1 || cfg.ACL.Rules[0] != "topic read a/#" {
		t.Fatalf("env list: %q", cfg.ACL.Rules)
	}
	// Keys the file does not mention keep their defaults (listeners stay loopback).
	if !cfg.Listeners.TCP.Enabled || cfg.Listeners.TCP.Address != "127.0.0.1:1883" {
		t.Fatalf("defaults lost: %+v", cfg.Listeners.TCP)
	}
	// A config file starts from the secure defaults: anonymous off.
	if cfg.Auth.AllowAnonymous {
		t.Fatal("anonymous enabled by a config file that does not ask for it")
	}
	f, err := parseServeFlags([]string{"--node-id", "fromflag", "--tcp", "off", "--ws", "127.0.0.1:9999"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	f.apply(&cfg)
	if cfg.Node.ID != "fromflag" || cfg.Listeners.TCP.Enabled || cfg.Listeners.WS.Address != "127.0.0.1:9999" {
		t.Fatalf("flags not applied: %+v", cfg)
	}
}

func TestEmbeddedDefaultIsLoopbackAnonymous(t *testing.T) {
	cfg, err := loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if !cfg.Auth.AllowAnonymous {
		t.Fatal("embedded default must admit anonymous clients (on loopback)")
	}
	for name, l := range cfg.Listeners.All() {
		if l.Enabled && !strings.HasPrefix(l.Address, "127.0.0.1:") {
			t.Fatalf("listener %s on %s is not loopback", name, l.Address)
		}
	}
	if cfg.Node.DataDir != "./data" {
		t.Fatalf("data dir %q", cfg.Node.DataDir)
	}
}

func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte("node:\n  id: x\n"))
	f.Add([]byte("listeners:\n  tcp:\n    address: 127.0.0.1:0\n"))
	f.Add([]byte("acl:\n  rules: [\"topic read #\"]\n"))
	f.Add([]byte("limits: {connect_timeout: 1s, max_packet_size: 99}"))
	f.Add([]byte("&a x: *a"))
	f.Add([]byte("- - - ["))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := loadConfigBytes(t, data)
		if cfg != nil {
			_ = cfg.Validate()
		}
	})
}

func loadConfigBytes(t *testing.T, data []byte) *brokerConfig {
	t.Helper()
	cfg := newDefaultConfig()
	if err := decodeYAML(data, cfg, "fuzz"); err != nil {
		return nil
	}
	return cfg
}
