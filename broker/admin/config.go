package admin

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// MinTokenLength is the shortest bearer token Validate and New accept, in bytes.
const MinTokenLength = 16

// Config configures the admin HTTP listener. Field paths in Validate and New
// errors are relative to this section; the broker prefixes its key ("admin: ").
type Config struct {
	// Address is host:port to listen on. Port 0 picks a free port (see Addr).
	// A non-loopback host (including an empty one, "all interfaces") requires
	// the token (RequireToken true, the default).
	Address string `yaml:"address"`
	// RequireToken (default true) makes every route except /healthz, /readyz
	// and HandlePublic routes require "Authorization: Bearer <token>". With
	// neither Token nor TokenFile set, New creates a random token in
	// GeneratedTokenFile (<node.data_dir>/admin.token) or reuses it. false is
	// the explicit opt-out: accepted only on a loopback address and without
	// Token or TokenFile, and warned about at start.
	RequireToken bool `yaml:"require_token"`
	// AllowedHosts are the extra names (compared case-insensitively, port
	// ignored) a request's Host header may carry, besides localhost, loopback
	// IPs and the IP the connection arrived on: the names operators, reverse
	// proxies or scrapers use for this listener. Any other Host is refused
	// (DNS rebinding).
	AllowedHosts []string `yaml:"allowed_hosts"`
	// Token is the bearer token every route except /healthz requires. Prefer
	// TokenFile: a token in the config file is readable by whoever reads the file.
	Token string `yaml:"token"`
	// TokenFile names a file holding the token (surrounding whitespace trimmed);
	// read once by New. Mutually exclusive with Token.
	TokenFile string `yaml:"token_file"`
	// ReadHeaderTimeout bounds reading the request headers (slowloris guard).
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request; 0 means no limit.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response (a /metrics scrape included); 0
	// means no limit.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout closes idle keep-alive connections; 0 means no limit.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes caps the request header size.
	MaxHeaderBytes int `yaml:"max_header_bytes"`

	// GeneratedTokenFile is where New creates (mode 0600) or reuses the token
	// when RequireToken is set and neither Token nor TokenFile is. Not a config
	// key: the broker derives it from node.data_dir.
	GeneratedTokenFile string `yaml:"-"`
}

// DefaultConfig returns the secure defaults: loopback only, token required
// (generated when none is configured).
func DefaultConfig() Config {
	return Config{
		Address:           "127.0.0.1:18083",
		RequireToken:      true,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// Validate checks c without touching the file system. Every error wraps
// ErrInvalidConfig and names the field path; a non-loopback address without a
// token also wraps ErrTokenRequired. Token values are never put in errors.
func (c Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Address)
	if err != nil {
		return invalidf("address: %q: want host:port", c.Address)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return invalidf("address: %q: port %q is not a number in 0..65535", c.Address, port)
	}
	if c.Token != "" && c.TokenFile != "" {
		return invalidf("token, token_file: set one, not both")
	}
	if c.Token != "" {
		if err := checkToken(c.Token); err != nil {
			return invalidf("token: %w", err)
		}
	}
	if !c.RequireToken {
		if c.Token != "" || c.TokenFile != "" {
			return invalidf("require_token: false, but token or token_file is set: remove one or the other")
		}
		if !isLoopbackHost(host) {
			return invalidf("require_token: false on address %q, which is not a loopback address: %w",
				c.Address, ErrTokenRequired)
		}
	}
	for i, h := range c.AllowedHosts {
		if err := checkAllowedHost(h); err != nil {
			return invalidf("allowed_hosts[%d]: %q: %w", i, h, err)
		}
	}
	if c.ReadHeaderTimeout <= 0 {
		return invalidf("read_header_timeout: %s: must be positive", c.ReadHeaderTimeout)
	}
	for _, d := range []struct {
		path string
		v    time.Duration
	}{
		{"read_timeout", c.ReadTimeout},
		{"write_timeout", c.WriteTimeout},
		{"idle_timeout", c.IdleTimeout},
	} {
		if d.v < 0 {
			return invalidf("%s: %s: must not be negative", d.path, d.v)
		}
	}
	if c.MaxHeaderBytes < 1024 || c.MaxHeaderBytes > 1<<20 {
		return invalidf("max_header_bytes: %d: must be in 1024..1048576", c.MaxHeaderBytes)
	}
	return nil
}

// MarshalZerologObject logs c with the token redacted.
func (c Config) MarshalZerologObject(e *zerolog.Event) {
	e.Str(logfield.Address, c.Address).
		Bool("require_token", c.RequireToken).
		Strs("allowed_hosts", c.AllowedHosts).
		Bool("token_set", c.Token != "").
		Str("token_file", c.TokenFile).
		Dur("read_header_timeout", c.ReadHeaderTimeout).
		Dur("read_timeout", c.ReadTimeout).
		Dur("write_timeout", c.WriteTimeout).
		Dur("idle_timeout", c.IdleTimeout).
		Int("max_header_bytes", c.MaxHeaderBytes)
}

// isLoopbackHost reports whether host (from SplitHostPort) only reaches this
// machine: "localhost" or a loopback IP. An empty host means every interface.
// Other names are not resolved and count as non-loopback.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	// Zones ("::1%lo") are allowed by Listen; strip them before parsing.
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkAllowedHost reports why h cannot be an allowed_hosts entry: it must be
// a bare host name or IP literal (no scheme, port, path or wildcard), because
// entries are compared with the Host header's host part.
func checkAllowedHost(h string) error {
	if h == "" {
		return errors.New("empty")
	}
	if ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); ip != nil {
		return nil
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("byte %d (%q): want a host name or IP without scheme, port or wildcard", i, c)
		}
	}
	return nil
}

// checkToken reports why t cannot be a bearer token: too short, or holding bytes
// outside visible ASCII (RFC 6750 b64token is a subset; we accept any visible ASCII).
// The error never contains the token.
func checkToken(t string) error {
	if len(t) < MinTokenLength {
		return fmt.Errorf("%w: %d bytes, want at least %d", ErrInvalidToken, len(t), MinTokenLength)
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] >= 0x7f {
			return fmt.Errorf("%w: byte %d is not visible ASCII", ErrInvalidToken, i)
		}
	}
	return nil
}

// invalidConfigError carries a Validate message that starts with the field path
// and matches ErrInvalidConfig (and whatever the message wraps) with errors.Is.
type invalidConfigError struct{ err error }

func (e invalidConfigError) Error() string   { return e.err.Error() }
func (e invalidConfigError) Unwrap() []error { return []error{ErrInvalidConfig, e.err} }

// invalidf formats a Validate error; %w verbs are honoured.
func invalidf(format string, a ...any) error {
	return invalidConfigError{fmt.Errorf(format, a...)}
}
