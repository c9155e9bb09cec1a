package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	if c.AllowAnonymous || c.PasswordFile != "" || c.JWT.Enabled {
		t.Fatalf("default is not closed: %+v", c)
	}
	if c.BcryptCost != 10 || c.JWT.Leeway != 30*time.Second {
		t.Fatalf("defaults: cost %d leeway %s", c.BcryptCost, c.JWT.Leeway)
	}
	if c.hasAuthMethod() {
		t.Fatal("default config claims an auth method")
	}
}

func TestConfigValidate(t *testing.T) {
	jwtOn := func(f func(*Config)) Config {
		c := DefaultConfig()
		c.JWT.Enabled = true
		c.JWT.Algorithms = []string{"HS256"}
		c.JWT.HMACSecretFile = "/s"
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want string // "" = valid; else the expected error text (substring)
	}{
		{"jwt hs256", jwtOn(func(*Config) {}), ""},
		{"jwt rs256", jwtOn(func(c *Config) {
			c.JWT.Algorithms, c.JWT.HMACSecretFile, c.JWT.PublicKeyFile = []string{"RS256"}, "", "/k.pem"
		}), ""},
		{"jwt hs256+es256", jwtOn(func(c *Config) { c.JWT.Algorithms, c.JWT.PublicKeyFile = []string{"HS256", "ES256"}, "/k.pem" }), ""},
		{"jwt disabled ignores algorithms", func() Config { c := DefaultConfig(); c.JWT.Algorithms = []string{"none"}; return c }(), ""},
		{"cost low", func() Config { c := DefaultConfig(); c.BcryptCost = 3; return c }(), "auth.bcrypt_cost: must be between 4 and 31, got 3"},
		{"cost zero", func() Config { c := DefaultConfig(); c.BcryptCost = 0; return c }(), "auth.bcrypt_cost"},
		{"cost high", func() Config { c := DefaultConfig(); c.BcryptCost = 32; return c }(), "got 32"},
		{"alg none", jwtOn(func(c *Config) { c.JWT.Algorithms = []string{"HS256", "none"} }), `auth.jwt.algorithms[1]: unsupported algorithm "none"`},
		{"alg lowercase", jwtOn(func(c *Config) { c.JWT.Algorithms = []string{"hs256"} }), `auth.jwt.algorithms[0]: unsupported algorithm "hs256"`},
		{"alg hs512", jwtOn(func(c *Config) { c.JWT.Algorithms = []string{"HS512"} }), `unsupported algorithm "HS512"`},
		{"alg duplicate", jwtOn(func(c *Config) { c.JWT.Algorithms = []string{"HS256", "HS256"} }), `auth.jwt.algorithms[1]: duplicate algorithm "HS256"`},
		{"no algorithms", jwtOn(func(c *Config) { c.JWT.Algorithms = nil }), "auth.jwt.algorithms: must list"},
		{"hs256 without secret", jwtOn(func(c *Config) { c.JWT.HMACSecretFile = "" }), "auth.jwt.hmac_secret_file: required with HS256"},
		{"secret without hs256", jwtOn(func(c *Config) { c.JWT.Algorithms, c.JWT.PublicKeyFile = []string{"RS256"}, "/k" }), `auth.jwt.hmac_secret_file: set to "/s" but HS256`},
		{"rs256 without key", jwtOn(func(c *Config) { c.JWT.Algorithms = []string{"HS256", "RS256"} }), "auth.jwt.public_key_file: required"},
		{"key without rs/es", jwtOn(func(c *Config) { c.JWT.PublicKeyFile = "/k.pem" }), `auth.jwt.public_key_file: set to "/k.pem"`},
		{"rs256 and es256", jwtOn(func(c *Config) {
			c.JWT.Algorithms, c.JWT.HMACSecretFile, c.JWT.PublicKeyFile = []string{"RS256", "ES256"}, "", "/k"
		}), "RS256 and ES256 cannot both"},
		{"negative leeway", jwtOn(func(c *Config) { c.JWT.Leeway = -time.Second }), "auth.jwt.leeway: must be between 0s and 10m0s, got -1s"},
		{"huge leeway", jwtOn(func(c *Config) { c.JWT.Leeway = time.Hour }), "got 1h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v does not match ErrInvalidConfig", err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.HasPrefix(ce.Field, "auth.") {
				t.Fatalf("error %v carries no field path", err)
			}
		})
	}
}

func TestConfigValidateReportsAll(t *testing.T) {
	c := DefaultConfig()
	c.BcryptCost = 1
	c.JWT.Enabled = true
	c.JWT.Algorithms = []string{"none", "HS256"}
	err := c.Validate()
	for _, want := range []string{"auth.bcrypt_cost", "auth.jwt.algorithms[0]", "auth.jwt.hmac_secret_file"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, missing %s", err, want)
		}
	}
}

func TestConfigYAML(t *testing.T) {
	in := `
allow_anonymous: true
password_file: /etc/imqtt/passwd
bcrypt_cost: 12
jwt:
  enabled: true
  algorithms: [RS256]
  public_key_file: /etc/imqtt/jwt.pem
  issuer: https://id.example
  audience: imqtt
  leeway: 45s
`
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(in))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Config{
		AllowAnonymous: true, PasswordFile: "/etc/imqtt/passwd", BcryptCost: 12,
		JWT: JWTConfig{Enabled: true, Algorithms: []string{"RS256"}, PublicKeyFile: "/etc/imqtt/jwt.pem",
			Issuer: "https://id.example", Audience: "imqtt", Leeway: 45 * time.Second},
	}
	if c.AllowAnonymous != want.AllowAnonymous || c.PasswordFile != want.PasswordFile || c.BcryptCost != want.BcryptCost ||
		c.JWT.Enabled != want.JWT.Enabled || len(c.JWT.Algorithms) != 1 || c.JWT.Algorithms[0] != "RS256" ||
		c.JWT.PublicKeyFile != want.JWT.PublicKeyFile || c.JWT.Issuer != want.JWT.Issuer ||
		c.JWT.Audience != want.JWT.Audience || c.JWT.Leeway != want.JWT.Leeway {
		t.Fatalf("decoded %+v, want %+v", c, want)
	}
	c = DefaultConfig()
	dec = yaml.NewDecoder(strings.NewReader("allow_anonymus: true\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil {
		t.Fatal("misspelled key accepted")
	}
}
