package admin

import (
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Limit labels passed to Deps.Refusals.LimitRefused (metric
// imqtt_limit_refusals_total{limit}) for each kind of refused request.
const (
	// LimitHost: the Host header names neither this listener nor an allowed
	// host (admin.allowed_hosts): DNS rebinding.
	LimitHost = "admin_host"
	// LimitOrigin: a cross-site request (Sec-Fetch-Site cross-site or
	// same-site, or an Origin other than the listener's own).
	LimitOrigin = "admin_origin"
	// LimitContentType: a state-changing request without
	// Content-Type: application/json.
	LimitContentType = "admin_content_type"
	// LimitToken: a missing or wrong bearer token.
	LimitToken = "admin_token"
)

// RefusalCounter counts refused requests; *metrics.Metrics (hooks/metrics)
// implements it. LimitRefused must be safe for concurrent use.
type RefusalCounter interface {
	LimitRefused(limit string)
}

// refusal says why a request was refused before any route ran.
type refusal struct {
	status int
	code   string
	limit  string
	msg    string
}

var (
	refuseHost = refusal{http.StatusForbidden, codeForbiddenHost, LimitHost,
		"the Host header names neither this listener nor an allowed host (admin.allowed_hosts)"}
	refuseOrigin = refusal{http.StatusForbidden, codeForbiddenOrigin, LimitOrigin,
		"cross-origin requests are refused"}
	refuseToken = refusal{http.StatusUnauthorized, codeUnauthorized, LimitToken,
		"missing or invalid bearer token"}
	refuseContentType = refusal{http.StatusUnsupportedMediaType, codeUnsupportedMediaType, LimitContentType,
		"a state-changing request needs Content-Type: application/json"}
)

// check runs the request checks in order (Host, then Origin, then the token,
// then Content-Type) and returns the first refusal, or nil. pattern is the
// route that matched ("" for none: the mux answers 404 or 405 and no handler
// runs, so the Content-Type check is skipped to keep that answer). /healthz
// skips every check: it answers a constant "ok" and changes nothing, and load
// balancers reach it under names this listener cannot know.
func (s *Server) check(r *http.Request, pattern string) *refusal {
	if pattern == healthzPattern {
		return nil
	}
	public := s.public[pattern]
	if !s.hostAllowed(r) {
		return &refuseHost
	}
	safe := r.Method == http.MethodGet || r.Method == http.MethodHead
	// A link from another site to the web client (a public GET) stays usable;
	// everything else must come from this listener's own pages or from a
	// non-browser client.
	if !(public && safe) && crossSite(r) {
		return &refuseOrigin
	}
	if s.hasToken && !public && !s.authorized(r) {
		return &refuseToken
	}
	if pattern != "" && !s.signed[pattern] && needsJSON(r) && !isJSON(r.Header.Get("Content-Type")) {
		return &refuseContentType
	}
	return nil
}

// hostAllowed reports whether r's Host header names this listener: no Host
// (HTTP/1.0; browsers always send one), localhost, a loopback IP, the IP the
// connection arrived on (the bound address, or the interface address of a
// wildcard bind), or an entry of Config.AllowedHosts. The port is not
// compared: DNS rebinding needs a name the attacker controls, whatever the
// port, and proxies change ports.
func (s *Server) hostAllowed(r *http.Request) bool {
	if r.Host == "" {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsLoopback() {
			return true
		}
		if la, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok && la.IP.Equal(ip) {
			return true
		}
	}
	for _, a := range s.allowedHosts {
		if strings.EqualFold(a, host) {
			return true
		}
	}
	return false
}

// crossSite reports whether a browser sent r from another origin:
// Sec-Fetch-Site cross-site or same-site (another port of the same host is
// same-site), or an Origin header whose host:port is not r's Host ("null"
// included). Requests without either header come from non-browser clients
// or same-origin navigations and pass. This is the rule of Go's
// http.CrossOriginProtection, applied to every method.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	}
	origin, ok := r.Header["Origin"]
	if !ok || len(origin) == 0 {
		return false
	}
	u, err := url.Parse(origin[0])
	return err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host)
}

// needsJSON reports whether r may change state and so must carry a JSON
// body type: every method but GET, HEAD, OPTIONS and TRACE, except a DELETE
// without a body. Browsers send a cross-origin application/json request only
// after a CORS preflight, which this listener never grants, so a "simple"
// form or text/plain POST from a web page never reaches a handler.
func needsJSON(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	case http.MethodDelete:
		return r.ContentLength != 0 // -1: unknown length (chunked)
	}
	return true
}

// isJSON reports whether a Content-Type value is application/json
// (parameters such as charset allowed).
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// maxLoggedHeader caps header values copied into a refusal log line.
const maxLoggedHeader = 200

// logRefusal counts the refusal and logs it at warn through the sampled
// logger (a flood of refused requests cannot flood the log).
func (s *Server) logRefusal(r *http.Request, ref *refusal) {
	if s.deps.Refusals != nil {
		s.deps.Refusals.LimitRefused(ref.limit)
	}
	s.refusedLog.Warn().
		Str(logfield.Reason, ref.code).
		Str(logfield.Method, r.Method).
		Str(logfield.Path, r.URL.Path).
		Str(logfield.Remote, r.RemoteAddr).
		Str(logfield.Host, clip(r.Host)).
		Str(logfield.Origin, clip(r.Header.Get("Origin"))).
		Str(logfield.FetchSite, clip(r.Header.Get("Sec-Fetch-Site"))).
		Str(logfield.ContentType, clip(r.Header.Get("Content-Type"))).
		Msg("admin request refused")
}

func clip(s string) string {
	if len(s) > maxLoggedHeader {
		return s[:maxLoggedHeader]
	}
	return s
}
