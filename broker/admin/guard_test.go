package admin_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker/admin"
)

// refusals is a RefusalCounter that remembers what it counted.
type refusals struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *refusals) LimitRefused(limit string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[limit]++
}

func (r *refusals) get(limit string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[limit]
}

// guardServer starts a server with the inline token, a state-changing route
// POST/PUT/DELETE /api/v1/act that counts its calls, GET /api/v1/private and a
// public GET /web/.
func guardServer(t *testing.T, cfg admin.Config, rc *refusals) (*admin.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	act := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		admin.WriteJSON(w, 200, map[string]string{"done": "yes"})
	})
	s := newTestServer(t, cfg, admin.Deps{Refusals: rc}, func(s *admin.Server) {
		for _, p := range []string{"POST /api/v1/act", "PUT /api/v1/act", "DELETE /api/v1/act"} {
			if err := s.Handle(p, act); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Handle("GET /api/v1/private", act); err != nil {
			t.Fatal(err)
		}
		if err := s.HandlePublic("GET /web/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "web client")
		})); err != nil {
			t.Fatal(err)
		}
	})
	return s, &calls
}

// send sends one request with the given headers (Host overrides the
// request's Host) and body.
func send(t *testing.T, method, url, body string, hdr map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

func TestHostCheck(t *testing.T) {
	rc := &refusals{}
	cfg := tokenConfig()
	cfg.AllowedHosts = []string{"admin.example.com", "[fd00::7]"}
	s, calls := guardServer(t, cfg, rc)
	base := "http://" + s.Addr()
	_, port, _ := net.SplitHostPort(s.Addr())
	auth := "Bearer " + token

	allowed := []string{
		"127.0.0.1:" + port, "127.0.0.1", "localhost", "LOCALHOST:" + port, "[::1]:" + port, "[::1]",
		"127.0.0.2:9", "admin.example.com", "Admin.Example.COM:443", "[fd00::7]:1",
	}
	for _, h := range allowed {
		if r := send(t, "GET", base+"/api/v1/private", "", map[string]string{"Host": h, "Authorization": auth}); r.status != 200 {
			t.Errorf("Host %q: %d %s, want 200", h, r.status, r.body)
		}
	}
	refused := []string{
		"attacker.example", "attacker.example:" + port, "localhost.attacker.example", "127.0.0.1.nip.io:" + port,
		"evil.localhost", "admin.example.com.evil", "10.9.8.7:" + port, "[fd00::8]",
	}
	before := calls.Load()
	for _, h := range refused {
		for _, path := range []string{"/api/v1/private", "/web/", "/readyz", "/metrics", "/nothing"} {
			r := send(t, "GET", base+path, "", map[string]string{"Host": h, "Authorization": auth})
			if r.status != http.StatusForbidden || jsonError(t, r) != "forbidden_host" {
				t.Errorf("GET %s Host %q: %d %s, want 403 forbidden_host", path, h, r.status, r.body)
			}
		}
		r := send(t, "POST", base+"/api/v1/act", "{}", map[string]string{"Host": h, "Authorization": auth, "Content-Type": "application/json"})
		if r.status != http.StatusForbidden {
			t.Errorf("POST Host %q: %d, want 403", h, r.status)
		}
	}
	if n := calls.Load(); n != before {
		t.Fatalf("a handler ran %d times for a refused Host", n-before)
	}
	if got, want := rc.get(admin.LimitHost), len(refused)*6; got != want {
		t.Fatalf("admin_host refusals counted %d, want %d", got, want)
	}
	// /healthz answers whatever the Host (a constant; load balancers use names).
	if r := send(t, "GET", base+"/healthz", "", map[string]string{"Host": "attacker.example"}); r.status != 200 {
		t.Fatalf("/healthz with a foreign Host = %d", r.status)
	}
	// HTTP/1.0 without Host (health checkers; browsers always send Host).
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /readyz HTTP/1.0\r\n\r\n")
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(line, " 200 ") {
		t.Fatalf("HTTP/1.0 /readyz without Host: %q %v", line, err)
	}
}

// TestHostCheckWildcardBind: on 0.0.0.0 the IP the connection arrived on is
// the listener's own address.
func TestHostCheckWildcardBind(t *testing.T) {
	var ip net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ip = n.IP
			break
		}
	}
	if ip == nil {
		skipOutsideCI(t, "no non-loopback IPv4 address on this machine")
	}
	cfg := tokenConfig()
	cfg.Address = "0.0.0.0:0"
	s, _ := guardServer(t, cfg, &refusals{})
	_, port, _ := net.SplitHostPort(s.Addr())
	own := net.JoinHostPort(ip.String(), port)
	if r := send(t, "GET", "http://"+own+"/api/v1/private", "", map[string]string{"Authorization": "Bearer " + token}); r.status != 200 {
		t.Fatalf("GET via %s: %d %s", own, r.status, r.body)
	}
	// Reached over loopback, the interface IP is not the connection's address.
	r := send(t, "GET", "http://127.0.0.1:"+port+"/api/v1/private", "", map[string]string{"Host": own, "Authorization": "Bearer " + token})
	if r.status != http.StatusForbidden {
		t.Fatalf("Host %s over loopback: %d, want 403", own, r.status)
	}
}

func TestCrossSiteRefused(t *testing.T) {
	rc := &refusals{}
	s, calls := guardServer(t, tokenConfig(), rc)
	base := "http://" + s.Addr()
	own := "http://" + s.Addr()
	auth := "Bearer " + token
	json := "application/json"

	refused := []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"}, // another port of 127.0.0.1
		{"Origin": "http://attacker.example"},
		{"Origin": "http://127.0.0.1:1"},
		{"Origin": "null"},
		{"Origin": "::bad::"},
		{"Origin": own, "Sec-Fetch-Site": "cross-site"},
	}
	for _, h := range refused {
		for _, req := range []struct{ method, path string }{{"GET", "/api/v1/private"}, {"POST", "/api/v1/act"}, {"DELETE", "/api/v1/act"}, {"POST", "/web/"}} {
			hdr := map[string]string{"Authorization": auth, "Content-Type": json}
			for k, v := range h {
				hdr[k] = v
			}
			r := send(t, req.method, base+req.path, "{}", hdr)
			if r.status != http.StatusForbidden || jsonError(t, r) != "forbidden_origin" {
				t.Errorf("%s %s %v: %d %s, want 403 forbidden_origin", req.method, req.path, h, r.status, r.body)
			}
		}
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("a handler ran %d times for a cross-site request", n)
	}
	if got, want := rc.get(admin.LimitOrigin), len(refused)*4; got != want {
		t.Fatalf("admin_origin refusals counted %d, want %d", got, want)
	}
	for _, h := range []map[string]string{{}, {"Sec-Fetch-Site": "same-origin", "Origin": own}, {"Sec-Fetch-Site": "none"}, {"Origin": strings.ToUpper(own)}} {
		hdr := map[string]string{"Authorization": auth, "Content-Type": json}
		for k, v := range h {
			hdr[k] = v
		}
		if r := send(t, "POST", base+"/api/v1/act", "{}", hdr); r.status != 200 {
			t.Errorf("same-origin POST %v: %d %s", h, r.status, r.body)
		}
	}
	// A link from another site to the web client still works.
	if r := send(t, "GET", base+"/web/", "", map[string]string{"Sec-Fetch-Site": "cross-site"}); r.status != 200 || r.body != "web client" {
		t.Fatalf("cross-site navigation to /web/: %d %s", r.status, r.body)
	}
}

func TestStateChangingNeedsJSON(t *testing.T) {
	rc := &refusals{}
	s, calls := guardServer(t, tokenConfig(), rc)
	url := "http://" + s.Addr() + "/api/v1/act"
	auth := "Bearer " + token
	refused := []struct{ method, ct, body string }{
		{"POST", "text/plain", `{"id":"evil"}`},
		{"POST", "text/plain;charset=UTF-8", `{"id":"evil"}`},
		{"POST", "application/x-www-form-urlencoded", "id=evil"},
		{"POST", "multipart/form-data; boundary=x", "--x--"},
		{"POST", "", `{}`},
		{"POST", "", ""},
		{"POST", "application/jsonx", `{}`},
		{"POST", "application/json-patch+json", `{}`},
		{"PUT", "text/plain", `{}`},
		{"DELETE", "text/plain", `{"id":"evil"}`},
	}
	for _, tc := range refused {
		hdr := map[string]string{"Authorization": auth}
		if tc.ct != "" {
			hdr["Content-Type"] = tc.ct
		}
		r := send(t, tc.method, url, tc.body, hdr)
		if r.status != http.StatusUnsupportedMediaType || jsonError(t, r) != "unsupported_media_type" {
			t.Errorf("%s %q: %d %s, want 415", tc.method, tc.ct, r.status, r.body)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("the handler ran %d times without a JSON body type", n)
	}
	if got := rc.get(admin.LimitContentType); got != len(refused) {
		t.Fatalf("admin_content_type refusals counted %d, want %d", got, len(refused))
	}
	for _, tc := range []struct{ method, ct, body string }{
		{"POST", "application/json", `{}`},
		{"POST", "Application/JSON; charset=utf-8", `{}`},
		{"PUT", "application/json", `{}`},
		{"DELETE", "", ""}, // no body: nothing to smuggle
	} {
		hdr := map[string]string{"Authorization": auth}
		if tc.ct != "" {
			hdr["Content-Type"] = tc.ct
		}
		if r := send(t, tc.method, url, tc.body, hdr); r.status != 200 {
			t.Errorf("%s %q: %d %s, want 200", tc.method, tc.ct, r.status, r.body)
		}
	}
	// Without the token the answer is 401 whatever the body type.
	if r := send(t, "POST", url, "x", map[string]string{"Content-Type": "text/plain"}); r.status != 401 {
		t.Fatalf("text/plain POST without the token: %d", r.status)
	}
}

// TestRefusalLogIsSampled: a flood of refused requests writes a bounded
// number of warn lines and never the token.
func TestRefusalLogIsSampled(t *testing.T) {
	var buf syncBuffer
	s, err := admin.New(tokenConfig(), admin.Deps{}, zerolog.New(&buf).Level(zerolog.InfoLevel))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	for range 50 {
		send(t, "GET", "http://"+s.Addr()+"/api/v1/version", "", map[string]string{"Host": "attacker.example", "Authorization": "Bearer " + token})
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), `"message":"admin request refused"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal logged:\n%s", buf.String())
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
	out := buf.String()
	if n := strings.Count(out, `"message":"admin request refused"`); n > 5 {
		t.Fatalf("%d refusal lines for 50 requests, want at most 5:\n%s", n, out)
	}
	if !strings.Contains(out, `"reason":"forbidden_host"`) || !strings.Contains(out, `"host":"attacker.example"`) || strings.Contains(out, token) {
		t.Fatalf("refusal line lacks reason/host or leaks the token:\n%s", out)
	}
}
