package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestSIGHUPReload: SIGHUP re-reads the ACL file without dropping connections; a
// broken file keeps the rules in force and is logged.
func TestSIGHUPReload(t *testing.T) {
	dir := t.TempDir()
	aclFile := writeFile(t, dir, "acl.conf", "topic readwrite a/#\n")
	cfg := writeFile(t, dir, "imqttd.yaml", `
node: {id: r1, data_dir: `+filepath.Join(dir, "data")+`}
listeners:
  tcp: {enabled: true, address: "127.0.0.1:0"}
  ws: {enabled: false}
auth: {allow_anonymous: true}
acl: {file: `+aclFile+`}
admin: {enabled: false}
cluster: {bind_addr: "127.0.0.1:0"}
`)
	n := startNode(t, dir, "--config", cfg)
	conn, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connectV5(t, conn, "reloader", "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	rc := func(topic string) byte {
		resp, err := c.Publish(ctx10s(t), &paho.Publish{Topic: topic, QoS: 1, Payload: []byte("x")})
		if resp != nil {
			return resp.ReasonCode
		}
		if err != nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
		return 0
	}
	if got := rc("b/1"); got != 0x87 {
		t.Fatalf("b/1 before reload: %#x, want 0x87", got)
	}
	if err := os.WriteFile(aclFile, []byte("topic readwrite a/#\ntopic readwrite b/#\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = n.signal(syscall.SIGHUP)
	n.waitLog(10*time.Second, `"part":"acl"`, "reloaded")
	if got := rc("b/2"); got != 0 {
		t.Fatalf("b/2 after reload: %#x, want success (same connection)", got)
	}
	if err := os.WriteFile(aclFile, []byte("topic readwrite a/#\nnonsense line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = n.signal(syscall.SIGHUP)
	n.waitLog(10*time.Second, "reload failed", "acl.conf:2")
	if got := rc("b/3"); got != 0 {
		t.Fatalf("b/3 after a failed reload: %#x, want the previous rules in force", got)
	}
}

// TestSIGHUPReloadTLSNative: on the native engine, SIGHUP re-reads a tls
// listener's certificate: a handshake after the reload gets the new one.
func TestSIGHUPReloadTLSNative(t *testing.T) {
	dir := t.TempDir()
	a, b := newTestPKI(t), newTestPKI(t)
	certFile, keyFile := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
	install := func(p *testPKI) {
		t.Helper()
		for src, dst := range map[string]string{p.certFile: certFile, p.keyFile: keyFile} {
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	install(a)
	cfg := writeFile(t, dir, "imqttd.yaml", `
node: {id: r2, data_dir: `+filepath.Join(dir, "data")+`}
mqtt: {engine: native}
storage: {enabled: false}
im: {enabled: false}
listeners:
  tcp: {enabled: true, address: "127.0.0.1:0"}
  tls:
    enabled: true
    address: "127.0.0.1:0"
    tls: {cert_file: `+certFile+`, key_file: `+keyFile+`}
  ws: {enabled: false}
auth: {allow_anonymous: true}
admin: {enabled: false}
cluster: {bind_addr: "127.0.0.1:0"}
`)
	n := startNode(t, dir, "--config", cfg)
	serverCA := func() string {
		t.Helper()
		pool := x509.NewCertPool()
		pool.AddCert(caOf(t, a))
		pool.AddCert(caOf(t, b))
		conn, err := tls.Dial("tcp", n.addr("tls"), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Issuer.String() + " " +
			fmt.Sprint(conn.ConnectionState().PeerCertificates[0].AuthorityKeyId)
	}
	before := serverCA()
	install(b)
	_ = n.signal(syscall.SIGHUP)
	n.waitLog(10*time.Second, `"part":"tls"`, "reloaded")
	if after := serverCA(); after == before {
		t.Fatalf("the certificate did not change after SIGHUP: %s", after)
	}
}

// caOf parses p's CA certificate.
func caOf(t *testing.T, p *testPKI) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(data)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
