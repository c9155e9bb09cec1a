package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA writes a CA and one node certificate signed by it into dir and
// returns the TLSConfig.
func testCA(t *testing.T, dir, name string) TLSConfig {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(file, typ string, der []byte) string {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey, nodeKey := key(), key()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	node := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name + " node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	caCert, _ := x509.ParseCertificate(caDER)
	nodeDER, err := x509.CreateCertificate(rand.Reader, node, caCert, &nodeKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(nodeKey)
	if err != nil {
		t.Fatal(err)
	}
	return TLSConfig{
		CertFile: write("node.pem", "CERTIFICATE", nodeDER),
		KeyFile:  write("node.key", "EC PRIVATE KEY", keyDER),
		CAFile:   write("ca.pem", "CERTIFICATE", caDER),
	}
}

// tlsMember opens a node with tc; secret is its cluster secret ("": none,
// TLS alone authenticates).
func tlsMember(t *testing.T, id string, bootstrap bool, tc TLSConfig, secret string) testMember {
	t.Helper()
	cfg := testConfig(t, t.TempDir(), LogStoreBadger)
	cfg.NodeID, cfg.Bootstrap, cfg.TLS, cfg.Secret = id, bootstrap, tc, secret
	cfg.HeartbeatTimeout, cfg.ElectionTimeout = time.Second, time.Second
	cfg.LeaderLeaseTimeout, cfg.ApplyTimeout = 500*time.Millisecond, 3*time.Second
	kv := newMemKV()
	if bootstrap {
		return testMember{n: openNode(t, cfg, kv), kv: kv}
	}
	return testMember{n: openNodeNoWait(t, cfg, kv), kv: kv}
}

// TestClusterTLS: with cluster.tls, alone or with a cluster secret, nodes
// holding certificates of the cluster CA join and replicate (raft, forwarded
// writes); a node without TLS, or with a certificate of another CA, cannot
// join, and with a secret a node of the CA with another secret cannot
// either.
func TestClusterTLS(t *testing.T) {
	t.Run("tls only", func(t *testing.T) { testClusterTLS(t, "") })
	t.Run("tls and secret", func(t *testing.T) { testClusterTLS(t, testSecret) })
}

func testClusterTLS(t *testing.T, secret string) {
	checkGoroutines(t)
	dir := t.TempDir()
	tc := testCA(t, dir, "cluster")
	m1 := tlsMember(t, "n1", true, tc, secret)
	m2 := tlsMember(t, "n2", false, tc, secret)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := m2.n.JoinVia(ctx, m1.n.Addr()); err != nil {
		t.Fatal(err)
	}
	waitReady(t, m2.n)
	res, err := m2.n.ApplyForward(ctx, []byte("over-tls"))
	if err != nil {
		t.Fatalf("forward over TLS: %v", err)
	}
	if r, ok := res.(kvResult); !ok || r.Cmd != "over-tls" {
		t.Fatalf("result %#v", res)
	}
	waitApplied(t, m1, []string{"over-tls"})

	type outsider struct {
		tc     TLSConfig
		secret string
	}
	outsiders := map[string]outsider{
		"plain":      {TLSConfig{}, testSecret},
		"foreign CA": {testCA(t, t.TempDir(), "foreign"), secret},
	}
	if secret != "" {
		outsiders["other secret"] = outsider{tc, string(secretB)}
	}
	for name, o := range outsiders {
		m := tlsMember(t, "x-"+strings.ReplaceAll(name, " ", "-"), false, o.tc, o.secret)
		sctx, scancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		err := m.n.JoinVia(sctx, m1.n.Addr())
		scancel()
		if err == nil {
			t.Fatalf("%s node joined a TLS cluster", name)
		}
		if v := m1.n.Status().Voters(); len(v) != 2 {
			t.Fatalf("voters after a refused %s join: %v", name, v)
		}
	}
	// The plain and the foreign node failed TLS on m1's side.
	if hs := m1.n.HandshakeStats(); hs.InboundFailed[ReasonTLS] < 2 {
		t.Fatalf("m1 handshake counters %+v", hs)
	}
}
