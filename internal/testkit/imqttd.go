package testkit

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"
)

// imqttdPkg is the import path go build compiles for BuildImqttd.
const imqttdPkg = "github.com/imqtt/imqtt/cmd/imqttd"

// startTimeout bounds how long an imqttd may take to log "imqttd started".
const startTimeout = 30 * time.Second

// BuildImqttd compiles cmd/imqttd (with the race detector when race) into a
// fresh temporary directory and returns the binary and a cleanup removing
// it. Call it once per test binary, from TestMain: the build takes seconds.
func BuildImqttd(race bool) (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "imqttd-bin")
	if err != nil {
		return "", nil, fmt.Errorf("build imqttd: %w", err)
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	bin = filepath.Join(dir, "imqttd")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, imqttdPkg)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build %s: %w\n%s", imqttdPkg, err, out)
	}
	return bin, cleanup, nil
}

// Main is the whole TestMain of a package whose tests run imqttd: it builds
// the binary once (BuildImqttd), sets *bin to it, runs the tests, removes
// the binary and exits with the tests' code.
func Main(m *testing.M, race bool, bin *string) {
	b, cleanup, err := BuildImqttd(race)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bin = b
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// Imqttd is an imqttd process a test started (StartImqttd). Addrs holds the
// bound addresses of its last start: "listener_<name>" entries under <name>
// (tcp, ws...), plus "admin", "cluster" and "admin_token_file". Stop runs in
// t.Cleanup; the log is dumped when the test failed.
type Imqttd struct {
	t       testing.TB
	bin     string
	Dir     string // working directory, holding imqttd.yaml
	cfgPath string
	Addrs   map[string]string

	mu   sync.Mutex
	runs []*Proc // one per start; the last is the current one
}

// StartImqttd writes config (YAML) to dir/imqttd.yaml, runs bin serve with
// it in dir, and waits for the "imqttd started" line. Listeners should bind
// port 0: Restart reuses the ports bound the first time.
func StartImqttd(t testing.TB, bin, dir, config string) *Imqttd {
	t.Helper()
	d := &Imqttd{t: t, bin: bin, Dir: dir, cfgPath: filepath.Join(dir, "imqttd.yaml")}
	if err := os.WriteFile(d.cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			t.Logf("imqttd log:\n%s", d.Log())
		}
	})
	d.start()
	return d
}

// start launches the process and waits for its start-up line.
func (d *Imqttd) start() {
	d.t.Helper()
	p, err := Launch(d.bin, d.Dir, nil, "--config", d.cfgPath)
	if err != nil {
		d.t.Fatal(err)
	}
	d.mu.Lock()
	d.runs = append(d.runs, p)
	d.mu.Unlock()
	select {
	case addrs := <-p.Started:
		d.mu.Lock()
		d.Addrs = addrs
		d.mu.Unlock()
	case err := <-p.Exit:
		p.Exit <- err
		d.t.Fatalf("imqttd exited before starting: %v\n%s", err, d.Log())
	case <-time.After(startTimeout):
		d.t.Fatalf("imqttd did not start in %s\n%s", startTimeout, d.Log())
	}
}

// Addr returns the bound address of listener or key name, failing the test
// when the node has none.
func (d *Imqttd) Addr(name string) string {
	d.t.Helper()
	d.mu.Lock()
	a := d.Addrs[name]
	d.mu.Unlock()
	if a == "" {
		d.t.Fatalf("imqttd has no %q address (have %v)", name, d.Addrs)
	}
	return a
}

// Log returns every log line so far, across restarts.
func (d *Imqttd) Log() string {
	d.mu.Lock()
	runs := append([]*Proc(nil), d.runs...)
	d.mu.Unlock()
	var lines []string
	for _, p := range runs {
		lines = append(lines, p.Lines()...)
	}
	return strings.Join(lines, "\n")
}

// running returns the current run, or nil when it has exited.
func (d *Imqttd) running() *Proc {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.runs) == 0 {
		return nil
	}
	p := d.runs[len(d.runs)-1]
	if p.Exited() {
		return nil
	}
	return p
}

// signal sends sig and waits up to 20 s for the exit.
func (d *Imqttd) signal(sig syscall.Signal) error {
	p := d.running()
	if p == nil {
		return nil
	}
	_ = p.Cmd.Process.Signal(sig)
	select {
	case err := <-p.Exit:
		p.Exit <- err
		return err
	case <-time.After(20 * time.Second):
		_ = p.Cmd.Process.Kill()
		return fmt.Errorf("imqttd did not exit 20s after %v", sig)
	}
}

// Kill ends the process with SIGKILL (a crash: nothing is flushed) and waits
// for it to exit.
func (d *Imqttd) Kill() {
	d.t.Helper()
	var exitErr *exec.ExitError
	if err := d.signal(syscall.SIGKILL); err != nil && !errors.As(err, &exitErr) {
		d.t.Fatal(err)
	}
}

// Stop ends the process with SIGTERM (a clean shutdown) and waits for it.
// Stopping a stopped node does nothing.
func (d *Imqttd) Stop() {
	if err := d.signal(syscall.SIGTERM); err != nil {
		d.t.Logf("stop imqttd: %v", err)
	}
}

// Restart starts the stopped or killed node again on the same data
// directory, binding the addresses of its previous start (so clients
// reconnect to the same URL).
func (d *Imqttd) Restart() {
	d.t.Helper()
	if d.running() != nil {
		d.t.Fatal("restart: imqttd is still running")
	}
	raw, err := os.ReadFile(d.cfgPath)
	if err != nil {
		d.t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		d.t.Fatalf("restart: config: %v", err)
	}
	d.mu.Lock()
	addrs := d.Addrs
	d.mu.Unlock()
	set := func(addr string, path ...string) {
		m := cfg
		for _, k := range path[:len(path)-1] {
			sub, ok := m[k].(map[string]any)
			if !ok {
				return
			}
			m = sub
		}
		m[path[len(path)-1]] = addr
	}
	if ls, ok := cfg["listeners"].(map[string]any); ok {
		for name := range ls {
			if a := addrs[name]; a != "" {
				set(a, "listeners", name, "address")
			}
		}
	}
	if a := addrs["admin"]; a != "" {
		set(a, "admin", "address")
	}
	if a := addrs["cluster"]; a != "" {
		set(a, "cluster", "bind_addr")
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		d.t.Fatal(err)
	}
	if err := os.WriteFile(d.cfgPath, out, 0o600); err != nil {
		d.t.Fatal(err)
	}
	d.start()
}

// AdminToken returns the admin API bearer token the node wrote.
func (d *Imqttd) AdminToken() string {
	d.t.Helper()
	b, err := os.ReadFile(d.Addr("admin_token_file"))
	if err != nil {
		d.t.Fatalf("admin token: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// Admin calls the admin API with the node's token and returns the status
// code and body.
func (d *Imqttd) Admin(method, path, body string) (int, []byte) {
	d.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+d.Addr("admin")+path, rd)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.AdminToken())
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("admin %s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// WriteUsers writes a password file for users (the password of each is
// user + "-pw", hashed at bcrypt's minimum cost to keep tests fast) and an
// ACL file allowing every topic (the im/ tree has its own rules) into dir,
// and returns their paths.
func WriteUsers(t testing.TB, dir string, users []string) (passwd, acl string) {
	t.Helper()
	var lines []string
	for _, u := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(u+"-pw"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, u+":"+string(h))
	}
	passwd, acl = filepath.Join(dir, "users.passwd"), filepath.Join(dir, "acl.conf")
	if err := os.WriteFile(passwd, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(acl, []byte("pattern readwrite #\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return passwd, acl
}

// StartIM starts bin as a single IM node in a fresh temporary directory:
// password users (WriteUsers), a tcp listener on 127.0.0.1:0, the admin API,
// and extra YAML appended at the top level (e.g. "im:\n  admins: [root]\n").
func StartIM(t testing.TB, bin string, users []string, extra string) *Imqttd {
	t.Helper()
	dir := t.TempDir()
	passwd, acl := WriteUsers(t, dir, users)
	cfg := fmt.Sprintf(`node:
  id: im1
  data_dir: %[1]s/data
listeners:
  tcp: {enabled: true, address: "127.0.0.1:0"}
  ws: {enabled: false}
auth:
  password_file: %[2]s
acl:
  file: %[3]s
admin: {enabled: true, address: "127.0.0.1:0"}
cluster:
  bind_addr: "127.0.0.1:0"
%[4]s
`, dir, passwd, acl, extra)
	return StartImqttd(t, bin, dir, cfg)
}
