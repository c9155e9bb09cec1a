package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/imqtt/imqtt/broker"
)

// repoFile returns the path of a file at the repository root.
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return p
}

// promQLNames returns the metric names a PromQL expression selects: every
// identifier that is not a function or aggregation (followed by "("), a
// keyword, a label name (inside {}, by (...), without (...)), a string, a
// range or a Grafana variable.
func promQLNames(expr string) []string {
	for _, re := range promQLStrip {
		expr = re.ReplaceAllString(expr, " ")
	}
	var out []string
	for _, m := range promQLIdent.FindAllStringIndex(expr, -1) {
		name := expr[m[0]:m[1]]
		rest := strings.TrimLeft(expr[m[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") || promQLKeywords[name] {
			continue
		}
		if m[0] > 0 && (expr[m[0]-1] >= '0' && expr[m[0]-1] <= '9' || expr[m[0]-1] == '.') {
			continue // a unit suffix or exponent of a number
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

var (
	promQLStrip = []*regexp.Regexp{
		regexp.MustCompile(`"(?:[^"\\]|\\.)*"`), // strings
		regexp.MustCompile(`\{[^}]*\}`),         // label matchers
		regexp.MustCompile(`\[[^\]]*\]`),        // ranges
		regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`), // label lists
		regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*\}?`),                                  // Grafana variables
		regexp.MustCompile(`\b\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:ms|s|m|h|d|w|y)?\b`),              // numbers, durations
	}
	promQLIdent    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promQLKeywords = map[string]bool{
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"bool": true, "and": true, "or": true, "unless": true, "offset": true, "atan2": true,
	}
	labelValuesRe = regexp.MustCompile(`label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,`)
)

func TestPromQLNames(t *testing.T) {
	tests := map[string]string{
		`sum(imqtt_clients_connected{instance=~"$instance"})`:                                        "imqtt_clients_connected",
		`sum by (reason) (rate(imqtt_auth_failures_total{a="b"}[$__rate_interval]))`:                 "imqtt_auth_failures_total",
		`rate(a_total[5m]) / on (job) group_left (x) b_total * 100`:                                  "a_total,b_total",
		`histogram_quantile(0.99, sum by (le) (rate(x_bucket[1m])))`:                                 "x_bucket",
		`process_open_fds{instance=~"$instance"} / process_max_fds`:                                  "process_open_fds,process_max_fds",
		`sum(increase(imqtt_panics_recovered_total{instance=~"$instance"}[$__rate_interval])) > 1e3`: "imqtt_panics_recovered_total",
	}
	for expr, want := range tests {
		if got := strings.Join(promQLNames(expr), ","); got != want {
			t.Errorf("promQLNames(%q) = %q, want %q", expr, got, want)
		}
	}
}

// dashboardQueries returns every PromQL expression and label_values metric of
// a Grafana dashboard (panels, nested row panels, templating).
func dashboardQueries(t *testing.T, path string) (exprs []string, metrics []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string            `json:"title"`
		UID    string            `json:"uid"`
		Panels []json.RawMessage `json:"panels"`
		Templ  struct {
			List []struct {
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s is not JSON: %v", path, err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("%s: no title, uid or panels", path)
	}
	type panel struct {
		Title   string            `json:"title"`
		Type    string            `json:"type"`
		Panels  []json.RawMessage `json:"panels"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	}
	var walk func([]json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, raw := range ps {
			var p panel
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatalf("panel %s: %v", raw, err)
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("panel %q has an empty expr", p.Title)
				}
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templ.List {
		for _, m := range labelValuesRe.FindAllStringSubmatch(string(v.Query), -1) {
			metrics = append(metrics, m[1])
		}
	}
	return exprs, metrics
}

// TestGrafanaDashboardMetricsExist: every metric the dashboard queries is
// exported by a running imqttd's /metrics once a little traffic (messages,
// an auth failure, an ACL denial, a refused connection) made the series exist.
func TestGrafanaDashboardMetricsExist(t *testing.T) {
	exprs, names := dashboardQueries(t, repoFile(t, "configs/grafana-dashboard.json"))
	for _, e := range exprs {
		for _, n := range promQLNames(e) {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) < 15 {
		t.Fatalf("only %d metric names found in the dashboard: %v", len(names), names)
	}

	dir := t.TempDir()
	cfg := writeFile(t, dir, "imqttd.yaml", `
node: {id: m1, data_dir: `+filepath.Join(dir, "data")+`}
listeners:
  tcp: {enabled: true, address: "127.0.0.1:0"}
  ws: {enabled: false}
auth: {allow_anonymous: true}
acl: {rules: ["topic readwrite ok/#"]}
admin: {enabled: true, address: "127.0.0.1:0"}
cluster: {bind_addr: "127.0.0.1:0"}
`)
	n := startNode(t, dir, "--config", cfg)
	tcp := n.addr("tcp")
	conn, err := dialMQTT(t, "tcp", tcp, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connectV5(t, conn, "metrics-client", "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "ok/#", QoS: 2}}}); err != nil {
		t.Fatal(err)
	}
	for qos := byte(0); qos <= 2; qos++ {
		if _, err := c.Publish(ctx10s(t), &paho.Publish{Topic: "ok/m", QoS: qos, Retain: qos == 1, Payload: []byte("m")}); err != nil {
			t.Fatal(err)
		}
		c.expect(t, "ok/m", "m", qos)
	}
	if rc := pubCode(t, c, "denied/x", false, "x"); rc != 0x87 {
		t.Fatalf("publish outside the ACL: %#x, want 0x87", rc)
	}
	bad, err := dialMQTT(t, "tcp", tcp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connectV5(t, bad, "metrics-bad", "nobody", "wrong", true); err == nil {
		t.Fatal("a client with unknown credentials connected")
	}
	// A first packet that is not CONNECT: refused by the listener guard.
	raw, err := net.DialTimeout("tcp", tcp, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = raw.Write([]byte{0x30, 0x03, 0x00, 0x01, 'x'})
	_ = raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.Copy(io.Discard, raw)
	_ = raw.Close()

	var missing []string
	deadline := time.Now().Add(15 * time.Second)
	for {
		have := scrapeNames(t, n)
		missing = missing[:0]
		for _, name := range names {
			if !have[name] {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard queries metrics imqttd does not export: %v", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scrapeNames returns the metric names with at least one sample on n's
// /metrics (behind the admin token).
func scrapeNames(t *testing.T, n *node) map[string]bool {
	t.Helper()
	status, body := n.adminAPI(t, "GET", "/metrics", "")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d", status)
	}
	out := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			out[line[:i]] = true
		}
	}
	return out
}

// unitFile parses a systemd unit: section -> key -> values (in order).
func unitFile(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]string{}
	section := ""
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not key=value in a section: %q", path, i+1, line)
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	return out
}

// TestSystemdUnit checks the unit's keys and, with systemd-analyze on this
// machine, verifies it against the built binary.
func TestSystemdUnit(t *testing.T) {
	path := repoFile(t, "configs/imqttd.service")
	u := unitFile(t, path)
	svc := u["Service"]
	want := map[string]string{
		"User":                  "imqtt",
		"NoNewPrivileges":       "yes",
		"ProtectSystem":         "strict",
		"ReadWritePaths":        "/var/lib/imqtt",
		"PrivateTmp":            "yes",
		"CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
		"LimitNOFILE":           "65536",
		"Restart":               "on-failure",
		"ExecReload":            "/bin/kill -HUP $MAINPID",
		"KillSignal":            "SIGTERM",
		"StateDirectory":        "imqtt",
	}
	for k, v := range want {
		if got := svc[k]; len(got) != 1 || got[0] != v {
			t.Errorf("[Service] %s = %q, want %q", k, got, v)
		}
	}
	start := svc["ExecStart"]
	if len(start) != 1 || !strings.HasPrefix(start[0], "/usr/local/bin/imqttd serve --config /etc/imqtt/imqttd.yaml") ||
		!strings.Contains(start[0], "--data-dir /var/lib/imqtt/data") {
		t.Errorf("ExecStart = %q", start)
	}
	if u["Install"]["WantedBy"][0] != "multi-user.target" {
		t.Errorf("WantedBy = %q", u["Install"]["WantedBy"])
	}
	// The flags of ExecStart exist: parse them with serve's own parser.
	args := strings.Fields(start[0])[2:]
	if _, err := parseServeFlags(args, io.Discard); err != nil {
		t.Errorf("ExecStart flags: %v", err)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Logf("systemd-analyze not installed: checked the keys only")
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "imqttd.service")
	if err := os.WriteFile(local, []byte(strings.ReplaceAll(string(data), "/usr/local/bin/imqttd", imqttdBin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, 60*time.Second, nil, analyze, "verify", local)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestDockerfile checks the image recipe's key lines (there is no Docker
// daemon here to build it) and that the image's IMQTT_* environment is a
// valid config for the built binary.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(repoFile(t, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var froms, env []string
	var user, expose, volume, entry string
	lines := strings.Split(strings.ReplaceAll(string(data), "\\\n", " "), "\n")
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, strings.Join(f[1:], " "))
		case "ENV":
			env = append(env, f[1:]...)
		case "USER":
			user = f[1]
		case "EXPOSE":
			expose = strings.Join(f[1:], " ")
		case "VOLUME":
			volume = strings.Join(f[1:], " ")
		case "ENTRYPOINT":
			entry = strings.Join(f[1:], " ")
		}
	}
	text := string(data)
	switch {
	case len(froms) < 2 || !strings.HasSuffix(froms[0], "AS build"):
		t.Errorf("not a multi-stage build: FROM %q", froms)
	case !strings.Contains(froms[len(froms)-1], "distroless/static") && froms[len(froms)-1] != "scratch":
		t.Errorf("final image %q: want distroless/static or scratch", froms[len(froms)-1])
	}
	if !strings.Contains(text, "CGO_ENABLED=0") || !strings.Contains(text, "go build") || !strings.Contains(text, "./cmd/imqttd") {
		t.Error("the build is not a static (CGO_ENABLED=0) go build of ./cmd/imqttd")
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("USER %q: want a non-root user", user)
	}
	for _, port := range []string{"1883", "8883", "8083", "18083"} {
		if !strings.Contains(expose, port) {
			t.Errorf("EXPOSE %q lacks %s", expose, port)
		}
	}
	if volume != "/data" {
		t.Errorf("VOLUME %q, want /data", volume)
	}
	if !strings.Contains(entry, "/usr/local/bin/imqttd") {
		t.Errorf("ENTRYPOINT %q", entry)
	}
	// The image's environment overrides must be accepted by `imqttd config check`.
	var vars []string
	for _, kv := range env {
		if strings.HasPrefix(kv, envPrefix) {
			vars = append(vars, kv)
		}
	}
	if !slices.Contains(vars, "IMQTT_NODE_DATA_DIR=/data") {
		t.Errorf("ENV %q does not put the data directory in /data", vars)
	}
	cmd := exec.Command(imqttdBin, "config", "check", repoFile(t, "configs/imqttd.yaml"))
	cmd.Env = append(append(cleanEnv(), "GORACE=atexit_sleep_ms=0"), vars...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("imqttd config check with the image's ENV %v: %v\n%s", vars, err, out)
	}
	ignore, err := os.ReadFile(repoFile(t, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "bin/", "data/"} {
		if !strings.Contains(string(ignore), want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}

// TestHAProxyConfig validates configs/haproxy.cfg with haproxy -c when it is
// installed, and checks its key settings in any case.
func TestHAProxyConfig(t *testing.T) {
	path := repoFile(t, "configs/haproxy.cfg")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{"mode tcp", "http-check send meth GET uri /readyz", "check port 18083", "bind :1883", "bind :8883", "bind :8083", "10.0.0.11:1883 send-proxy-v2", "10.0.0.11:8883 send-proxy-v2"} {
		if !strings.Contains(text, want) {
			t.Errorf("haproxy.cfg lacks %q", want)
		}
	}
	// Idle clients must outlive the longest keepalive the broker grants x 1.5.
	maxKeepalive := broker.DefaultConfig().Limits.Config.MaxKeepalive
	for _, key := range []string{"timeout client", "timeout server"} {
		m := regexp.MustCompile(key + `\s+(\S+)`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("haproxy.cfg has no %s", key)
		}
		d, err := time.ParseDuration(m[1])
		if err != nil || d < maxKeepalive*3/2 {
			t.Errorf("%s %s: want at least 1.5 x limits.max_keepalive (%s)", key, m[1], maxKeepalive)
		}
	}
	hp, err := exec.LookPath("haproxy")
	if err != nil {
		t.Logf("haproxy not installed: checked the key lines only")
		return
	}
	out, err := runCmd(t, 30*time.Second, nil, hp, "-c", "-f", path)
	if err != nil || !strings.Contains(out, "valid") {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
}
