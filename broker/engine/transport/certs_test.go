package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/listen"
)

// testCert writes a self-signed server certificate for 127.0.0.1 and localhost
// into a temp dir and returns the listener TLS config and a client config that
// trusts it.
func testCert(t *testing.T) (listen.TLSConfig, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "transport-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return listen.TLSConfig{CertFile: cf, KeyFile: kf}, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
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
