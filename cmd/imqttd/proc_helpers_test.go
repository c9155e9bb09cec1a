package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// imqttdBin is the binary built once by TestMain for the process-level tests.
var imqttdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imqttd-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	imqttdBin = filepath.Join(dir, "imqttd")
	build := exec.Command("go", "build", "-race", "-o", imqttdBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build imqttd:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// node is an imqttd process started by a test.
type node struct {
	t     *testing.T
	cmd   *exec.Cmd
	dir   string
	addrs map[string]string // listener name -> bound address, from the start-up log line

	mu    sync.Mutex
	lines []string
	exit  chan error
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

// launchNodeBin is launchNode running the imqttd binary bin.
func launchNodeBin(t *testing.T, bin, dir string, via []string, args ...string) (*node, <-chan map[string]string) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	full := append([]string{"serve", "--log-format", "json", "--log-level", "debug"}, args...)
	cmd := exec.Command(bin, full...)
	if len(via) > 0 {
		cmd = exec.Command(via[0], append(append(via[1:], bin), full...)...)
	}
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, cmd: cmd, dir: dir, exit: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan map[string]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			n.mu.Lock()
			n.lines = append(n.lines, line)
			n.mu.Unlock()
			var ev map[string]any
			if json.Unmarshal([]byte(line), &ev) == nil && ev["message"] == "imqttd started" {
				addrs := map[string]string{}
				for k, v := range ev {
					if name, ok := strings.CutPrefix(k, "listener_"); ok {
						addrs[name], _ = v.(string)
					}
				}
				for _, k := range []string{"admin", "cluster", "admin_token_file"} {
					if a, ok := ev[k].(string); ok {
						addrs[k] = a
					}
				}
				started <- addrs
			}
		}
		n.exit <- cmd.Wait()
	}()
	t.Cleanup(func() {
		n.stop()
		if t.Failed() {
			t.Logf("imqttd log:\n%s", n.log())
		}
	})
	return n, started
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envPrefix) {
			env = append(env, kv)
		}
	}
	return env
}

func (n *node) log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.lines, "\n")
}

// waitLog waits until a log line contains every one of the substrings.
func (n *node) waitLog(timeout time.Duration, subs ...string) string {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		n.mu.Lock()
		for _, l := range n.lines {
			all := true
			for _, s := range subs {
				all = all && strings.Contains(l, s)
			}
			if all {
				n.mu.Unlock()
				return l
			}
		}
		n.mu.Unlock()
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
	// Exited already? (n.exit holds the Wait result, put back for others;
	// reading cmd.ProcessState here would race with that Wait.)
	select {
	case err := <-n.exit:
		n.exit <- err
		return
	default:
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
