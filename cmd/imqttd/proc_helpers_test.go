package main

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
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imqtt/imqtt/internal/testkit"
)

// imqttdBin is the binary built once by TestMain (with -race) for the
// process-level tests.
var imqttdBin string

func TestMain(m *testing.M) { testkit.Main(m, true, &imqttdBin) }

// node is an imqttd process started by a test: a testkit.Proc with the
// fields the tests here read.
type node struct {
	t     *testing.T
	cmd   *exec.Cmd
	dir   string
	addrs map[string]string // listener name -> bound address, from the start-up log line
	exit  chan error        // the Wait result, put back after reading (testkit.Proc.Exit)
	proc  *testkit.Proc
}

// startNode runs imqttd serve with args in a fresh working directory and waits
// for its "imqttd started" log line. Cleanup stops it with SIGTERM.
func startNode(t *testing.T, dir string, args ...string) *node {
	t.Helper()
	return startNodeVia(t, dir, nil, args...)
}

// startNodeVia is startNode with the imqttd command line appended to via (a
// wrapper such as unshare; it must exec imqttd so that the node's PID is imqttd's).
func startNodeVia(t *testing.T, dir string, via []string, args ...string) *node {
	t.Helper()
	return startNodeBin(t, imqttdBin, dir, via, args...)
}

// startNodeBin is startNodeVia running the imqttd binary bin.
func startNodeBin(t *testing.T, bin, dir string, via []string, args ...string) *node {
	t.Helper()
	n, started := launchNodeBin(t, bin, dir, via, args...)
	select {
	case n.addrs = <-started:
	case err := <-n.exit:
		n.exit <- err
		t.Fatalf("imqttd exited before starting: %v\n%s", err, n.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("imqttd did not start in 30s\n%s", n.log())
	}
	return n
}

// launchNode runs imqttd serve with args and returns at once; started
// delivers the listener addresses of its "imqttd started" line, if it comes.
// Cleanup stops it with SIGTERM.
func launchNode(t *testing.T, dir string, via []string, args ...string) (*node, <-chan map[string]string) {
	t.Helper()
	return launchNodeBin(t, imqttdBin, dir, via, args...)
}

// launchNodeBin is launchNode running the imqttd binary bin (testkit.Launch).
func launchNodeBin(t *testing.T, bin, dir string, via []string, args ...string) (*node, <-chan map[string]string) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	p, err := testkit.Launch(bin, dir, via, args...)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, cmd: p.Cmd, dir: dir, exit: p.Exit, proc: p}
	t.Cleanup(func() {
		n.stop()
		if t.Failed() {
			t.Logf("imqttd log:\n%s", n.log())
		}
	})
	return n, p.Started
}

// cleanEnv is the environment without IMQTT_ variables (testkit.CleanEnv).
func cleanEnv() []string { return testkit.CleanEnv() }

func (n *node) log() string { return n.proc.Log() }

// waitLog waits until a log line contains every one of the substrings.
func (n *node) waitLog(timeout time.Duration, subs ...string) string {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, l := range n.proc.Lines() {
			all := true
			for _, s := range subs {
				all = all && strings.Contains(l, s)
			}
			if all {
				return l
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.t.Fatalf("no log line with %q within %s\n%s", subs, timeout, n.log())
	return ""
}

// signal sends sig and, for SIGTERM/SIGINT, waits for the exit and returns it.
func (n *node) signal(sig syscall.Signal) error {
	_ = n.cmd.Process.Signal(sig)
	if sig != syscall.SIGTERM && sig != syscall.SIGINT {
		return nil
	}
	select {
	case err := <-n.exit:
		n.exit <- err
		return err
	case <-time.After(20 * time.Second):
		_ = n.cmd.Process.Kill()
		return fmt.Errorf("imqttd did not exit 20s after %v", sig)
	}
}

func (n *node) stop() {
	if n.proc.Exited() {
		return
	}
	_ = n.signal(syscall.SIGTERM)
}

func (n *node) addr(name string) string {
	n.t.Helper()
	a := n.addrs[name]
	if a == "" {
		n.t.Fatalf("node has no %s listener (have %v)", name, n.addrs)
	}
	return a
}

func hostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// testPKI is a throw-away CA with a server certificate for 127.0.0.1/localhost and
// a client certificate, written as PEM files.
type testPKI struct {
	dir                           string
	caFile, certFile, keyFile     string
	clientCertFile, clientKeyFile string
	pool                          *x509.CertPool
	clientCert                    tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	p := &testPKI{dir: dir}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imqtt test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(ca)
	p.caFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)

	issue := func(name string, serial int64, ext x509.ExtKeyUsage, server bool) (string, string, tls.Certificate) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{ext},
		}
		if server {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
			tmpl.DNSNames = []string{"localhost"}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		cf := writePEM(t, dir, name+".pem", "CERTIFICATE", der)
		kf := writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", kder)
		pair, err := tls.LoadX509KeyPair(cf, kf)
		if err != nil {
			t.Fatal(err)
		}
		return cf, kf, pair
	}
	p.certFile, p.keyFile, _ = issue("server", 2, x509.ExtKeyUsageServerAuth, true)
	p.clientCertFile, p.clientKeyFile, p.clientCert = issue("client", 3, x509.ExtKeyUsageClientAuth, false)
	return p
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (p *testPKI) clientTLS(withCert bool) *tls.Config {
	c := &tls.Config{RootCAs: p.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if withCert {
		c.Certificates = []tls.Certificate{p.clientCert}
	}
	return c
}

// runCmd runs a command with a timeout and returns its combined output.
func runCmd(t *testing.T, timeout time.Duration, stdin io.Reader, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = stdin
	out := make(chan struct{})
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return "", err
	}
	var err error
	go func() { err = cmd.Wait(); close(out) }()
	select {
	case <-out:
		return buf.String(), err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-out
		return buf.String(), fmt.Errorf("%s timed out after %s", name, timeout)
	}
}

// Node set-ups the tests that run with storage on and off use (mqtt.engine
// is native, the only engine).
const (
	// engineNative is the default: durable sessions in the store.
	engineNative = "native"
	// engineNativeMemory is the engine with storage off: persistent
	// sessions in memory only.
	engineNativeMemory = "native-memory"
)

// engineYAML is the top-level config lines of the set-up eng.
func engineYAML(eng string) string {
	if eng == engineNativeMemory {
		return "storage: {enabled: false}\n"
	}
	return ""
}
