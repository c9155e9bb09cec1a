package admin

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
)

// FuzzRequestChecks feeds arbitrary Host, Origin, Sec-Fetch-Site and
// Content-Type values to the request checks: no panic, and a Host whose host
// part is a name other than localhost or an allowed name is always refused.
func FuzzRequestChecks(f *testing.F) {
	for _, seed := range [][4]string{
		{"127.0.0.1:18083", "", "", "application/json"},
		{"attacker.example", "http://attacker.example", "cross-site", "text/plain"},
		{"[::1]:1", "null", "same-site", "multipart/form-data; boundary=x"},
		{"admin.example.com:443", "https://admin.example.com", "same-origin", "Application/JSON; charset=utf-8"},
		{"[fe80::1%25eth0]:1", "::", "none", ";;"},
		{"", "http://[::1", "", ""},
		{"LOCALHOST.", "http://localhost.:1", "x", "application/json;"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	s := &Server{allowedHosts: []string{"admin.example.com"}, public: map[string]bool{"GET /web/": true}}
	local := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 18083}
	f.Fuzz(func(t *testing.T, host, origin, site, ct string) {
		r, err := http.NewRequestWithContext(context.WithValue(context.Background(), http.LocalAddrContextKey, local),
			http.MethodPost, "http://x/api/v1/act", strings.NewReader("{}"))
		if err != nil { // the URL is fixed: this never depends on the input
			t.Fatal(err)
		}
		r.Host = host
		r.Header.Set("Origin", origin)
		r.Header.Set("Sec-Fetch-Site", site)
		r.Header.Set("Content-Type", ct)
		_ = s.check(r, "POST /api/v1/act")
		_ = s.check(r, "GET /web/")
		_ = s.check(r, "")

		name := host
		if h, _, err := net.SplitHostPort(host); err == nil {
			name = h
		}
		name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
		isName := net.ParseIP(name) == nil && strings.ContainsAny(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
		if isName && !strings.EqualFold(name, "localhost") && !strings.EqualFold(name, "admin.example.com") && s.hostAllowed(r) {
			t.Fatalf("Host %q (name %q) was allowed", host, name)
		}
	})
}
