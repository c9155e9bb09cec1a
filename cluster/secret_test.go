package cluster

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestSecretCreatedAtBootstrap: a node that bootstraps without a configured
// secret creates DataDir/cluster.secret (mode 0600, 64 hex digits), keeps it
// across restarts, and a node given a copy of it joins.
func TestSecretCreatedAtBootstrap(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, LogStoreBadger)
	cfg.Secret = ""
	n := openNode(t, cfg, newMemKV())
	path := filepath.Join(dir, SecretFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no secret file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %v, want 0600", fi.Mode().Perm())
	}
	first, _ := os.ReadFile(path)
	if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(first) {
		t.Fatalf("secret file holds %q", first)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = openNode(t, cfg, newMemKV())
	if again, _ := os.ReadFile(path); !bytes.Equal(first, again) {
		t.Fatal("the secret changed on restart")
	}

	jcfg := testConfig(t, t.TempDir(), LogStoreBadger)
	jcfg.NodeID, jcfg.Bootstrap, jcfg.Secret, jcfg.SecretFile = "n2", false, "", path
	j := openNodeNoWait(t, jcfg, newMemKV())
	ctx := t.Context()
	if err := n.Join(ctx, "n2", j.Addr()); err != nil {
		t.Fatalf("Join with the copied secret file: %v", err)
	}
	waitReady(t, j)
}

func TestSecretConfig(t *testing.T) {
	withFile := t.TempDir()
	if err := os.WriteFile(filepath.Join(withFile, SecretFileName), []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // "" means valid
	}{
		{"bootstrap, nothing configured", func(*Config) {}, ""},
		{"secret", func(c *Config) { c.Secret = testSecret }, ""},
		{"short secret", func(c *Config) { c.Secret = "short" }, "cluster.secret: 5 bytes, at least 32"},
		{"both", func(c *Config) { c.Secret, c.SecretFile = testSecret, "/x" }, "cluster.secret: set cluster.secret or cluster.secret_file, not both"},
		{"join without secret", func(c *Config) { c.Join = []string{"10.0.0.1:7946"} }, "cluster.secret_file: required to join"},
		{"no bootstrap without secret", func(c *Config) { c.Bootstrap = false }, "cluster.secret_file: required to join"},
		{"join with secret file", func(c *Config) { c.Join, c.SecretFile = []string{"10.0.0.1:7946"}, "/etc/imqtt/cluster.secret" }, ""},
		{"join with secret", func(c *Config) { c.Join, c.Secret = []string{"10.0.0.1:7946"}, testSecret }, ""},
		{"join with TLS", func(c *Config) {
			c.Join = []string{"10.0.0.1:7946"}
			c.TLS = TLSConfig{CertFile: "c", KeyFile: "k", CAFile: "ca"}
		}, ""},
		{"join with a copied data_dir/cluster.secret", func(c *Config) { c.Join, c.DataDir = []string{"10.0.0.1:7946"}, withFile }, ""},
		{"handshake timeout too short", func(c *Config) { c.HandshakeTimeout = 0 }, "cluster.handshake_timeout: 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.DataDir = t.TempDir()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig with %q", err, tt.wantErr)
			}
			if c.Secret != "" && strings.Contains(err.Error(), c.Secret) {
				t.Fatal("the error quotes the secret")
			}
		})
	}
}

// TestSecretFileErrors: a secret file that is missing or too short fails
// Open with an error naming cluster.secret_file; nothing is bound.
func TestSecretFileErrors(t *testing.T) {
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("tiny\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{"missing": filepath.Join(t.TempDir(), "none"), "short": short} {
		cfg := testConfig(t, t.TempDir(), LogStoreBadger)
		cfg.Secret, cfg.SecretFile = "", file
		n, err := Open(t.Context(), cfg, newMemKV(), testLogger(t))
		if err == nil {
			_ = n.Close()
			t.Fatalf("%s secret file: Open succeeded", name)
		}
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "cluster.secret_file") {
			t.Fatalf("%s secret file: Open = %v", name, err)
		}
	}
}

// TestConfigLogRedactsSecret: Config's log form never holds the secret.
func TestConfigLogRedactsSecret(t *testing.T) {
	var buf bytes.Buffer
	c := DefaultConfig()
	c.Secret = testSecret
	log := zerolog.New(&buf)
	log.Info().Object("cluster", c).Msg("config")
	if bytes.Contains(buf.Bytes(), []byte(testSecret)) || !bytes.Contains(buf.Bytes(), []byte(`"secret_set":true`)) {
		t.Fatalf("config log line: %s", buf.Bytes())
	}
}
