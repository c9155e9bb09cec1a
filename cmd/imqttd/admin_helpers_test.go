package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// adminToken returns n's admin bearer token, read from the file its
// "imqttd started" line names (admin_token_file); "" when it names none
// (admin.require_token: false, or an inline admin.token).
func (n *node) adminToken() string {
	n.t.Helper()
	path := n.addrs["admin_token_file"]
	if path == "" {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		n.t.Fatalf("admin token: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// adminDo sends one request to n's admin listener: token "" sends no
// Authorization header; a POST or a body gets Content-Type: application/json
// unless hdr sets one ("Host" in hdr sets the Host header). It returns the
// status and the body. Every test request to the admin API goes through here
// (or through adminAPI, which adds n's token).
func (n *node) adminDo(t *testing.T, method, path, token, body string, hdr map[string]string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+n.addr("admin")+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" || method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// adminAPI is adminDo with n's admin token.
func (n *node) adminAPI(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	return n.adminDo(t, method, path, n.adminToken(), body, nil)
}

// ctlTokenArgs are the ctl flags that let a ctl run in n.dir find n's token:
// none when the token file is <n.dir>/data/admin.token (ctl's default
// lookup), else --token-file.
func (n *node) ctlTokenArgs() []string {
	f := n.addrs["admin_token_file"]
	if f == "" || f == filepath.Join(n.dir, "data", "admin.token") {
		return nil
	}
	return []string{"--token-file", f}
}

// metricSum scrapes n's /metrics (with n's admin token) and sums the samples
// of family name whose label set contains every label of want (such as
// `reason="throttled"`); 0 when none matches.
func metricSum(t *testing.T, n *node, name string, want ...string) float64 {
	t.Helper()
	code, body := n.adminAPI(t, http.MethodGet, "/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	sum := 0.0
outer:
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, w := range want {
			if !strings.Contains(line, w) {
				continue outer
			}
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}
