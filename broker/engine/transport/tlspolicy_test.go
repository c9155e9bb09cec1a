package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/listen"
)

// testCA is a CA that signs client certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// client issues a client certificate with common name cn.
func (ca *testCA) client(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tryTLS does the TLS handshake, a CONNECT and reads the CONNACK; any failure
// (handshake, a TLS 1.3 alert after it, a closed stream) is returned.
func tryTLS(t *testing.T, s *Server, listener string, ct *tls.Config) error {
	t.Helper()
	tc := tls.Client(dial(t, s, listener), ct)
	defer tc.Close()
	_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if _, err := tc.Write(connectPacket(4, 0, "tls")); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	b := make([]byte, 4)
	if _, err := io.ReadFull(tc, b); err != nil {
		return fmt.Errorf("read connack: %w", err)
	}
	if b[0] != 0x20 {
		return fmt.Errorf("connack % x", b)
	}
	return nil
}

// TestTLSPolicyRefusesWeakClients: the listen package's TLS policy holds on
// the engine's listeners: TLS 1.2 with AEAD suites and the allowed curves
// passes, TLS 1.0/1.1, CBC-only and P-521-only clients fail the handshake,
// counted as tls_handshake, and no connection is opened for them.
func TestTLSPolicyRefusesWeakClients(t *testing.T) {
	cfg, base := tlsTestConfig(t)
	obs := newCountObs()
	h := newEcho(t)
	s := newTestServerObs(t, cfg, h, listen.DefaultLimits(), obs)
	for _, tc := range []struct {
		name string
		mod  func(*tls.Config)
		ok   bool
	}{
		{"tls13", func(*tls.Config) {}, true},
		{"tls12 aes-gcm", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
		}, true},
		{"tls12 chacha20", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
		}, true},
		{"tls12 p-384", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CurvePreferences = []tls.CurveID{tls.CurveP384}
		}, true},
		{"tls11", func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 }, false},
		{"tls10", func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS10 }, false},
		{"tls12 cbc only", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
		}, false},
		{"tls12 p-521 only", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CurvePreferences = []tls.CurveID{tls.CurveP521}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := base.Clone()
			tc.mod(ct)
			before := obs.rejectedFor(listen.ReasonTLSHandshake)
			h.mu.Lock()
			opened := h.opened
			h.mu.Unlock()
			err := tryTLS(t, s, "tls", ct)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				h.waitClosed(t)
				return
			}
			if err == nil {
				t.Fatal("connected, want a refused handshake")
			}
			waitFor(t, "tls_handshake counted", func() bool { return obs.rejectedFor(listen.ReasonTLSHandshake) == before+1 })
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.opened != opened {
				t.Fatal("Open called for a refused handshake")
			}
		})
	}
}

// TestMutualTLS: client_auth require on a tls listener refuses a client
// without a certificate and one from another CA (even when sent anyway),
// accepts one from the configured CA, whose identity the Handler sees in
// Conn.TLS; request accepts a client without a certificate but still refuses
// a bad one.
func TestMutualTLS(t *testing.T) {
	lt, base := testCert(t)
	ca := newTestCA(t, "client ca")
	caFile := filepath.Join(t.TempDir(), "clientca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	req, reqd := lt, lt
	req.ClientCAFile, req.ClientAuth = caFile, listen.ClientAuthRequest
	reqd.ClientCAFile, reqd.ClientAuth = caFile, listen.ClientAuthRequire
	cfg := testConfig()
	cfg.Listeners = []listen.Config{
		{Name: "tls", Kind: listen.KindTLS, Address: "127.0.0.1:0", TLS: reqd},
		{Name: "tls-req", Kind: listen.KindTLS, Address: "127.0.0.1:0", TLS: req},
	}
	h := newEcho(t)
	s := newTestServer(t, cfg, h)
	good := ca.client(t, "device-1")
	rogue := newTestCA(t, "rogue ca").client(t, "rogue")
	with := func(c *tls.Certificate) *tls.Config {
		ct := base.Clone()
		if c != nil {
			// Sent whatever CAs the server asks for.
			ct.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c, nil }
		}
		return ct
	}
	// peer connects with ct and returns the client certificate's CN the
	// Handler saw ("" for none).
	peer := func(t *testing.T, listener string, ct *tls.Config) string {
		t.Helper()
		if err := tryTLS(t, s, listener, ct); err != nil {
			t.Fatalf("refused: %v", err)
		}
		ev := h.waitClosed(t)
		st := ev.c.TLS()
		if st == nil {
			t.Fatal("no TLS state")
		}
		if len(st.PeerCertificates) == 0 {
			return ""
		}
		return st.PeerCertificates[0].Subject.CommonName
	}
	t.Run("require/no cert", func(t *testing.T) {
		if err := tryTLS(t, s, "tls", with(nil)); err == nil {
			t.Fatal("connected without a client certificate")
		}
	})
	t.Run("require/other ca", func(t *testing.T) {
		if err := tryTLS(t, s, "tls", with(&rogue)); err == nil {
			t.Fatal("connected with a certificate from another CA")
		}
	})
	t.Run("require/good", func(t *testing.T) {
		if cn := peer(t, "tls", with(&good)); cn != "device-1" {
			t.Fatalf("peer CN %q, want device-1", cn)
		}
	})
	t.Run("request/no cert", func(t *testing.T) {
		if cn := peer(t, "tls-req", with(nil)); cn != "" {
			t.Fatalf("peer CN %q, want none", cn)
		}
	})
	t.Run("request/other ca", func(t *testing.T) {
		if err := tryTLS(t, s, "tls-req", with(&rogue)); err == nil {
			t.Fatal("request mode accepted a certificate from another CA")
		}
	})
	t.Run("request/good", func(t *testing.T) {
		if cn := peer(t, "tls-req", with(&good)); cn != "device-1" {
			t.Fatalf("peer CN %q, want device-1", cn)
		}
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.opened != 3 {
		t.Fatalf("opened %d connections, want the 3 good ones", h.opened)
	}
}
