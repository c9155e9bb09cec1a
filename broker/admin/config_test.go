package admin

import (
	"bytes"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"
)

const testToken = "0123456789abcdef-test"

func TestValidate(t *testing.T) {
	mod := func(f func(*Config)) Config {
		c := DefaultConfig()
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr error  // nil: valid
		path    string // field path the message must name
	}{
		{"default", DefaultConfig(), nil, ""},
		{"loopback v4 port 0", mod(func(c *Config) { c.Address = "127.0.0.1:0" }), nil, ""},
		{"loopback v4 other", mod(func(c *Config) { c.Address = "127.1.2.3:80" }), nil, ""},
		{"loopback v6", mod(func(c *Config) { c.Address = "[::1]:18083" }), nil, ""},
		{"localhost", mod(func(c *Config) { c.Address = "LocalHost:1" }), nil, ""},
		{"all interfaces with token", mod(func(c *Config) { c.Address = ":18083"; c.Token = testToken }), nil, ""},
		{"routable with token file", mod(func(c *Config) { c.Address = "10.0.0.1:18083"; c.TokenFile = "/run/secrets/admin" }), nil, ""},
		{"all interfaces generated token", mod(func(c *Config) { c.Address = ":18083" }), nil, ""},
		{"loopback opt-out", mod(func(c *Config) { c.RequireToken = false }), nil, ""},
		{"all interfaces opt-out", mod(func(c *Config) { c.Address = ":18083"; c.RequireToken = false }), ErrTokenRequired, "require_token"},
		{"0.0.0.0 opt-out", mod(func(c *Config) { c.Address = "0.0.0.0:18083"; c.RequireToken = false }), ErrTokenRequired, "require_token"},
		{"[::] opt-out", mod(func(c *Config) { c.Address = "[::]:18083"; c.RequireToken = false }), ErrTokenRequired, "require_token"},
		{"routable opt-out", mod(func(c *Config) { c.Address = "192.168.1.5:18083"; c.RequireToken = false }), ErrTokenRequired, "require_token"},
		{"hostname opt-out", mod(func(c *Config) { c.Address = "admin.example.com:18083"; c.RequireToken = false }), ErrTokenRequired, "require_token"},
		{"opt-out with token", mod(func(c *Config) { c.RequireToken = false; c.Token = testToken }), ErrInvalidConfig, "require_token"},
		{"opt-out with token file", mod(func(c *Config) { c.RequireToken = false; c.TokenFile = "/x" }), ErrInvalidConfig, "require_token"},
		{"allowed hosts", mod(func(c *Config) { c.AllowedHosts = []string{"admin.example.com", "10.0.0.5", "[fd00::1]", "fd00::2"} }), nil, ""},
		{"allowed host with port", mod(func(c *Config) { c.AllowedHosts = []string{"ok.example", "admin.example.com:18083"} }), ErrInvalidConfig, "allowed_hosts[1]"},
		{"allowed host wildcard", mod(func(c *Config) { c.AllowedHosts = []string{"*.example.com"} }), ErrInvalidConfig, "allowed_hosts[0]"},
		{"allowed host url", mod(func(c *Config) { c.AllowedHosts = []string{"http://a"} }), ErrInvalidConfig, "allowed_hosts[0]"},
		{"allowed host empty", mod(func(c *Config) { c.AllowedHosts = []string{""} }), ErrInvalidConfig, "allowed_hosts[0]"},
		{"empty address", mod(func(c *Config) { c.Address = "" }), ErrInvalidConfig, "address"},
		{"no port", mod(func(c *Config) { c.Address = "127.0.0.1" }), ErrInvalidConfig, "address"},
		{"bad port", mod(func(c *Config) { c.Address = "127.0.0.1:http" }), ErrInvalidConfig, "address"},
		{"port too big", mod(func(c *Config) { c.Address = "127.0.0.1:70000" }), ErrInvalidConfig, "address"},
		{"token and file", mod(func(c *Config) { c.Token = testToken; c.TokenFile = "/x" }), ErrInvalidConfig, "token, token_file"},
		{"short token", mod(func(c *Config) { c.Token = "short" }), ErrInvalidToken, "token"},
		{"token with space", mod(func(c *Config) { c.Token = "0123456789 abcdef" }), ErrInvalidToken, "token"},
		{"zero header timeout", mod(func(c *Config) { c.ReadHeaderTimeout = 0 }), ErrInvalidConfig, "read_header_timeout"},
		{"negative read timeout", mod(func(c *Config) { c.ReadTimeout = -time.Second }), ErrInvalidConfig, "read_timeout"},
		{"negative write timeout", mod(func(c *Config) { c.WriteTimeout = -time.Second }), ErrInvalidConfig, "write_timeout"},
		{"negative idle timeout", mod(func(c *Config) { c.IdleTimeout = -time.Second }), ErrInvalidConfig, "idle_timeout"},
		{"tiny header bytes", mod(func(c *Config) { c.MaxHeaderBytes = 10 }), ErrInvalidConfig, "max_header_bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want %v (and ErrInvalidConfig)", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.path+":") {
				t.Fatalf("Validate() = %q, want the field path %q", err, tc.path)
			}
			if tc.cfg.Token != "" && strings.Contains(err.Error(), tc.cfg.Token) {
				t.Fatalf("Validate() = %q leaks the token", err)
			}
		})
	}
}

func TestIsLoopbackHost(t *testing.T) {
	tests := map[string]bool{
		"127.0.0.1": true, "127.255.0.1": true, "::1": true, "localhost": true, "LOCALHOST": true,
		"::1%lo": true, "": false, "0.0.0.0": false, "::": false, "10.1.2.3": false,
		"localhost.example.com": false, "::ffff:127.0.0.1": true, "fe80::1%eth0": false,
	}
	for host, want := range tests {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func FuzzConfigValidate(f *testing.F) {
	f.Add("127.0.0.1:18083", "")
	f.Add(":0", testToken)
	f.Add("[::1]:0", "")
	f.Add("0.0.0.0:99999", "")
	f.Add("[fe80::1%eth0]:1", "")
	f.Add("host", "x")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, addr, token string) {
		c := DefaultConfig()
		c.Address, c.Token = addr, token
		c.RequireToken = token != "" // no token: the opt-out, which only loopback allows
		err := c.Validate()
		if err == nil {
			host, _, splitErr := net.SplitHostPort(addr)
			if splitErr != nil {
				t.Fatalf("Validate accepted %q, which SplitHostPort refuses: %v", addr, splitErr)
			}
			if token == "" && !isLoopbackHost(host) {
				t.Fatalf("Validate accepted %q without a token", addr) // a tokenless config must be loopback
			}
			return
		}
		if !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("Validate() = %v, does not wrap ErrInvalidConfig", err)
		}
		if token != "" && len(token) >= 4 && strings.Contains(err.Error(), token) && !strings.Contains(addr, token) {
			t.Fatalf("Validate() = %q leaks the token", err)
		}
	})
}

func TestConfigYAML(t *testing.T) {
	const doc = `
address: "0.0.0.0:18083"
token_file: /run/secrets/imqtt-admin
allowed_hosts: [admin.example.com, "[fd00::1]"]
read_header_timeout: 2s
read_timeout: 10s
write_timeout: 1m
idle_timeout: 90s
max_header_bytes: 32768
`
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := Config{
		Address: "0.0.0.0:18083", TokenFile: "/run/secrets/imqtt-admin", RequireToken: true,
		AllowedHosts:      []string{"admin.example.com", "[fd00::1]"},
		ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: time.Minute,
		IdleTimeout: 90 * time.Second, MaxHeaderBytes: 32768,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("decoded %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	bad := yaml.NewDecoder(strings.NewReader("adress: x\n"))
	bad.KnownFields(true)
	if err := bad.Decode(&c); err == nil {
		t.Fatal("an unknown key was accepted")
	}
}

func TestConfigLogRedactsToken(t *testing.T) {
	var buf bytes.Buffer
	c := DefaultConfig()
	c.Token = testToken
	log := zerolog.New(&buf)
	log.Info().Object("admin", c).Msg("config")
	if strings.Contains(buf.String(), testToken) || !strings.Contains(buf.String(), `"token_set":true`) {
		t.Fatalf("log line %q: token not redacted", buf.String())
	}
}
