package listen

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/imqtt/imqtt/broker/listen/proxyhdr"
)

// Listener kinds.
const (
	KindTCP = "tcp" // MQTT over TCP
	KindTLS = "tls" // MQTT over TLS over TCP
	KindWS  = "ws"  // MQTT over WebSocket
	KindWSS = "wss" // MQTT over WebSocket over TLS
)

// Client certificate policies (TLSConfig.ClientAuth).
const (
	ClientAuthNone    = "none"    // no client certificate is asked for
	ClientAuthRequest = "request" // a client certificate is asked for and verified if given
	ClientAuthRequire = "require" // a verified client certificate is required (mTLS)
)

// DefaultWSPath is the HTTP path of the ws and wss listeners when Config.Path is empty.
const DefaultWSPath = "/mqtt"

// Config is one MQTT listener.
type Config struct {
	// Name is the listener id (ext.Client.Listener, the logs); it defaults to Kind.
	Name string `yaml:"-"`
	// Kind is tcp, tls, ws or wss.
	Kind string `yaml:"kind"`
	// Address is host:port to bind; an empty host binds every interface, port 0
	// picks a free port (Address() reports the bound one after Init).
	Address string `yaml:"address"`
	// Path is the HTTP path of ws and wss listeners; default /mqtt.
	Path string `yaml:"path"`
	// TLS holds the certificate material of tls and wss listeners.
	TLS TLSConfig `yaml:"tls"`
	// ProxyProtocol makes a tcp or tls listener read a PROXY protocol header
	// (v1 or v2, before the TLS handshake) from trusted peers and use the
	// client address it carries (proxy.go). Off by default.
	ProxyProtocol bool `yaml:"proxy_protocol"`
	// ProxyTrusted lists the load balancers allowed to send the header: CIDR
	// prefixes or single IP addresses. Required with ProxyProtocol.
	ProxyTrusted []string `yaml:"proxy_trusted"`
	// ProxyUntrusted is what happens to a peer outside ProxyTrusted: refuse
	// (default; closed at once) or plain (served with its socket address; a
	// header it sends is not read as one).
	ProxyUntrusted string `yaml:"proxy_untrusted"`
}

// TLSConfig is the certificate material of a tls or wss listener. The protocol
// policy (TLS 1.2+, ECDHE+AEAD suites, curves) is fixed and not configurable.
type TLSConfig struct {
	// CertFile is the PEM server certificate chain, leaf first.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of the leaf certificate.
	KeyFile string `yaml:"key_file"`
	// ClientCAFile is a PEM bundle of CAs that sign client certificates. Setting it
	// enables client certificates (ClientAuth defaults to request then).
	ClientCAFile string `yaml:"client_ca_file"`
	// ClientAuth is none, request (verify a certificate if the client sends one) or
	// require (mTLS: no verified certificate, no connection). Empty means none, or
	// request when ClientCAFile is set. request and require need ClientCAFile.
	ClientAuth string `yaml:"client_auth"`
}

// DefaultConfig returns a loopback-only plain TCP listener on the MQTT port.
func DefaultConfig() Config {
	return Config{Name: KindTCP, Kind: KindTCP, Address: "127.0.0.1:1883"}
}

// ID returns the listener id: Name, or Kind when Name is empty.
func (c Config) ID() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Kind
}

// IsTLS reports whether the kind runs TLS (tls, wss).
func (c Config) IsTLS() bool { return c.Kind == KindTLS || c.Kind == KindWSS }

// IsWS reports whether the kind runs WebSocket (ws, wss).
func (c Config) IsWS() bool { return c.Kind == KindWS || c.Kind == KindWSS }

// Validate checks the fields and their combinations without touching the file
// system (New reads the TLS files and reports unreadable or invalid ones). Error
// messages start with the field path relative to the listener (kind, address,
// tls.cert_file, ...); the broker prefixes listeners.<name>.
func (c Config) Validate() error {
	switch c.Kind {
	case KindTCP, KindTLS, KindWS, KindWSS:
	default:
		return invalid("kind", strconv.Quote(c.Kind), "must be tcp, tls, ws or wss")
	}
	if strings.ContainsAny(c.Name, " \t\r\n/\x00") {
		return invalid("name", strconv.Quote(c.Name), "must not contain spaces or slashes")
	}
	if err := validateAddress(c.Address); err != nil {
		return err
	}
	if c.IsWS() {
		if c.Path != "" && (!strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, " \t\r\n?#")) {
			return invalid("path", strconv.Quote(c.Path), "must be an absolute URL path like /mqtt")
		}
	} else if c.Path != "" {
		return invalid("path", strconv.Quote(c.Path), "is only for ws and wss listeners")
	}
	if err := c.validateProxy(); err != nil {
		return err
	}
	if !c.IsTLS() {
		if c.TLS != (TLSConfig{}) {
			return invalid("tls", c.Kind, "tls settings are only for tls and wss listeners")
		}
		return nil
	}
	return c.TLS.validate()
}

// validateProxy checks the PROXY protocol keys.
func (c Config) validateProxy() error {
	if !c.ProxyProtocol {
		if len(c.ProxyTrusted) > 0 || c.ProxyUntrusted != "" {
			return invalid("proxy_protocol", false, "proxy_trusted and proxy_untrusted need proxy_protocol: true")
		}
		return nil
	}
	if c.IsWS() {
		return invalid("proxy_protocol", true, "is only for tcp and tls listeners")
	}
	if u := c.ProxyUntrusted; u != "" && u != proxyhdr.UntrustedRefuse && u != proxyhdr.UntrustedPlain {
		return invalid("proxy_untrusted", strconv.Quote(u), "must be refuse or plain")
	}
	if _, err := c.proxyPolicy(); err != nil {
		return fmt.Errorf("proxy_trusted: %w: %w", err, ErrInvalidConfig)
	}
	return nil
}

// proxyPolicy builds the PROXY protocol policy of a listener that has it on.
func (c Config) proxyPolicy() (proxyhdr.Policy, error) {
	return proxyhdr.NewPolicy(c.ProxyTrusted, c.ProxyUntrusted)
}

// clientAuth returns the effective client certificate policy.
func (t TLSConfig) clientAuth() string {
	if t.ClientAuth == "" {
		if t.ClientCAFile != "" {
			return ClientAuthRequest
		}
		return ClientAuthNone
	}
	return t.ClientAuth
}

func (t TLSConfig) validate() error {
	if t.CertFile == "" {
		return invalid("tls.cert_file", `""`, "a tls or wss listener needs a certificate")
	}
	if t.KeyFile == "" {
		return invalid("tls.key_file", `""`, "a tls or wss listener needs a private key")
	}
	switch t.clientAuth() {
	case ClientAuthNone:
		if t.ClientCAFile != "" {
			return invalid("tls.client_auth", strconv.Quote(t.ClientAuth), "is none but tls.client_ca_file is set; use request or require")
		}
	case ClientAuthRequest, ClientAuthRequire:
		if t.ClientCAFile == "" {
			return invalid("tls.client_ca_file", `""`, "tls.client_auth "+t.ClientAuth+" needs a client CA bundle")
		}
	default:
		return invalid("tls.client_auth", strconv.Quote(t.ClientAuth), "must be none, request or require")
	}
	return nil
}

func validateAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return invalid("address", strconv.Quote(addr), "must be host:port")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil || (len(port) > 1 && port[0] == '0') {
		return invalid("address", strconv.Quote(addr), "port must be a number 0..65535")
	}
	if strings.ContainsAny(host, " /\\\x00") {
		return invalid("address", strconv.Quote(addr), "host must be an IP address or a host name")
	}
	return nil
}

// invalid formats a validation error: "<path>: <value>: <why>: invalid listener config".
func invalid(path string, value any, why string) error {
	return fmt.Errorf("%s: %v: %s: %w", path, value, why, ErrInvalidConfig)
}
