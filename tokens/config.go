package tokens

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Bounds of the config.
const (
	// MinKeyLen is the shortest signing key accepted (RFC 7518 3.2).
	MinKeyLen = 32
	// MinTTL is the shortest token life a mint may ask for.
	MinTTL = time.Second
	// Margin is how long past a token's expiry its record and deny entry are
	// kept (clock skew between nodes).
	Margin = time.Minute
)

// Config is the `tokens:` section. Decode YAML onto DefaultConfig() and call
// Validate. Field paths in errors start with "tokens.".
type Config struct {
	// Enabled lets the admin API mint tokens and MQTT clients connect with
	// them.
	Enabled bool `yaml:"enabled"`
	// KeyFile holds the HS256 signing key (at least 32 bytes once trailing
	// CR/LF are removed), the same on every node. "" = a key generated at
	// the cluster's first start and replicated through raft.
	KeyFile string `yaml:"key_file"`
	// DefaultTTL is the life of a token minted without a ttl.
	DefaultTTL time.Duration `yaml:"default_ttl"`
	// MaxTTL is the longest life a mint may ask for.
	MaxTTL time.Duration `yaml:"max_ttl"`
}

// DefaultConfig returns tokens on, a replicated key, 24 h tokens by default
// and at most 30 days.
func DefaultConfig() Config {
	return Config{Enabled: true, DefaultTTL: 24 * time.Hour, MaxTTL: 30 * 24 * time.Hour}
}

// Validate checks the config without reading the key file (Open does).
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: tokens.%s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...)))
	}
	if strings.ContainsRune(c.KeyFile, 0) {
		bad("key_file", "contains NUL: %q", c.KeyFile)
	}
	if c.MaxTTL < MinTTL {
		bad("max_ttl", "must be at least %s, got %s", MinTTL, c.MaxTTL)
	}
	if c.DefaultTTL < MinTTL || c.DefaultTTL > c.MaxTTL {
		bad("default_ttl", "must be between %s and max_ttl (%s), got %s", MinTTL, c.MaxTTL, c.DefaultTTL)
	}
	return errors.Join(errs...)
}
