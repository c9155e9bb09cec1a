package listen

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// TLS policy of every tls and wss listener: TLS 1.2 or newer; TLS 1.2 suites are
// ECDHE with AEAD only (TLS 1.3 suites are all AEAD and not configurable in Go);
// key exchange on X25519 (and its ML-KEM hybrid in TLS 1.3), P-256 or P-384. No
// ALPN protocol is required.
var (
	tlsCipherSuites = []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
	tlsCurves = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384}
)

// tlsMaterial is one loaded generation of certificate, key and client CAs, as a
// ready server config.
type tlsMaterial struct {
	config   *tls.Config
	leaf     *x509.Certificate
	loadedAt time.Time
}

// tlsStore serves the current tlsMaterial to new handshakes and swaps it on reload.
// Handshakes read it with one atomic load; connections already established keep
// the material they were made with.
type tlsStore struct {
	cfg    TLSConfig
	cur    atomic.Pointer[tlsMaterial]
	reload sync.Mutex  // serialises ReloadTLS
	server *tls.Config // shared by every connection; never modified after newTLSStore
}

func newTLSStore(cfg TLSConfig) (*tlsStore, error) {
	m, err := loadTLS(cfg)
	if err != nil {
		return nil, err
	}
	s := &tlsStore{cfg: cfg}
	s.cur.Store(m)
	s.server = &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.cur.Load().config, nil
		},
	}
	return s, nil
}

// serverConfig returns the listener's tls.Config: it only picks the current
// material for each ClientHello. It is one value for every connection (a
// tls.Conn keeps its Config for its life: one per connection cost each idle
// TLS connection a copy), which crypto/tls allows as it is not modified.
func (s *tlsStore) serverConfig() *tls.Config { return s.server }

// load re-reads the files; on error the current material stays.
func (s *tlsStore) load() (*tlsMaterial, error) {
	s.reload.Lock()
	defer s.reload.Unlock()
	m, err := loadTLS(s.cfg)
	if err != nil {
		return nil, err
	}
	s.cur.Store(m)
	return m, nil
}

// loadTLS reads and checks the certificate chain, the key and the client CAs.
// Errors name the field and the file.
func loadTLS(cfg TLSConfig) (*tlsMaterial, error) {
	certPEM, err := os.ReadFile(cfg.CertFile)
	if err != nil {
		return nil, tlsErr("tls.cert_file", cfg.CertFile, err)
	}
	keyPEM, err := os.ReadFile(cfg.KeyFile)
	if err != nil {
		return nil, tlsErr("tls.key_file", cfg.KeyFile, err)
	}
	if !hasPEMBlock(certPEM, "CERTIFICATE") {
		return nil, tlsErr("tls.cert_file", cfg.CertFile, fmt.Errorf("no PEM CERTIFICATE block"))
	}
	if !hasPEMBlock(keyPEM, "") {
		return nil, tlsErr("tls.key_file", cfg.KeyFile, fmt.Errorf("no PEM private key block"))
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, tlsErr("tls.cert_file", cfg.CertFile+" + "+cfg.KeyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, tlsErr("tls.cert_file", cfg.CertFile, err)
		}
	}
	c := &tls.Config{
		MinVersion:       tls.VersionTLS12,
		CipherSuites:     tlsCipherSuites,
		CurvePreferences: tlsCurves,
		Certificates:     []tls.Certificate{cert},
		ClientAuth:       tls.NoClientCert,
	}
	if mode := cfg.clientAuth(); mode != ClientAuthNone {
		caPEM, err := os.ReadFile(cfg.ClientCAFile)
		if err != nil {
			return nil, tlsErr("tls.client_ca_file", cfg.ClientCAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, tlsErr("tls.client_ca_file", cfg.ClientCAFile, fmt.Errorf("no valid PEM CERTIFICATE block"))
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.VerifyClientCertIfGiven
		if mode == ClientAuthRequire {
			c.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return &tlsMaterial{config: c, leaf: leaf, loadedAt: time.Now()}, nil
}

// hasPEMBlock reports whether data holds a PEM block of the given type (any type
// ending in "PRIVATE KEY" when typ is empty).
func hasPEMBlock(data []byte, typ string) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if typ == "" && len(b.Type) >= 11 && b.Type[len(b.Type)-11:] == "PRIVATE KEY" {
			return true
		}
		if typ != "" && b.Type == typ {
			return true
		}
	}
}

func tlsErr(field, file string, err error) error {
	return fmt.Errorf("%s: %q: %w: %w", field, file, err, ErrTLSMaterial)
}
