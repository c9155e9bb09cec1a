package transport

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/internal/testkit"
)

// testCert writes a self-signed server certificate for 127.0.0.1 and localhost
// into a temp dir and returns the listener TLS config and a client config that
// trusts it.
func testCert(t *testing.T) (listen.TLSConfig, *tls.Config) {
	t.Helper()
	dir := t.TempDir()
	lt := listen.TLSConfig{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	cert := writeCert(t, lt, "transport-test", 1)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return lt, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// writeCert writes a self-signed server certificate for 127.0.0.1 and
// localhost with common name cn and serial to lt's files, and returns it.
func writeCert(t *testing.T, lt listen.TLSConfig, cn string, serial int64) *x509.Certificate {
	t.Helper()
	return testkit.WriteCert(t, lt.CertFile, lt.KeyFile, cn, serial)
}

// tlsTestConfig returns a config with a tcp and a tls listener on 127.0.0.1:0,
// and the client TLS config.
func tlsTestConfig(t *testing.T) (Config, *tls.Config) {
	t.Helper()
	lt, ct := testCert(t)
	cfg := testConfig()
	cfg.Listeners = append(cfg.Listeners, listen.Config{Name: "tls", Kind: listen.KindTLS, Address: "127.0.0.1:0", TLS: lt})
	return cfg, ct
}

// dialTLS connects with TLS (slow: a 4 KiB receive buffer).
func dialTLS(t *testing.T, s *Server, ct *tls.Config, slow bool) net.Conn {
	t.Helper()
	var raw net.Conn
	if slow {
		raw = dialSlow(t, s, "tls")
	} else {
		raw = dial(t, s, "tls")
	}
	tc := tls.Client(raw, ct)
	_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatalf("tls handshake: %v", err)
	}
	_ = tc.SetDeadline(time.Time{})
	return tc
}
