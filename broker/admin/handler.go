package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/imqtt/imqtt/internal/logfield"
)

// ServeHTTP is the single entry point: before any route runs it checks the
// Host header, cross-site markers, the bearer token (all routes except public
// ones) and the Content-Type of state-changing requests (check); then it
// routes through the mux with JSON errors for unknown paths and methods, and
// logs the request at debug level. It never logs the token.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	principal := principalAnonymous
	defer func() {
		s.log.Debug().
			Str(logfield.Method, r.Method).
			Str(logfield.Path, r.URL.Path).
			Int(logfield.Status, rec.statusCode()).
			Str(logfield.Remote, r.RemoteAddr).
			Str(logfield.Principal, principal).
			Dur(logfield.Duration, time.Since(start)).
			Msg("admin request")
	}()
	rec.Header().Set("Cache-Control", "no-store")

	// pattern is "" when no route matches (404, 405 or a redirect): such requests
	// need the token too, so that probing does not reveal which routes exist.
	_, pattern := s.mux.Handler(r)
	if ref := s.check(r, pattern); ref != nil {
		s.logRefusal(r, ref)
		if ref.status == http.StatusUnauthorized {
			rec.Header().Set("WWW-Authenticate", `Bearer realm="imqtt-admin"`)
		}
		writeError(rec, ref.status, ref.code, ref.msg)
		return
	}
	if s.hasToken && !s.public[pattern] {
		principal = principalToken
	}
	var out http.ResponseWriter = rec
	if pattern == "" {
		out = &jsonErrorWriter{ResponseWriter: rec}
	}
	s.mux.ServeHTTP(out, r)
}

// authorized reports whether r carries the configured bearer token. The digests
// are compared in constant time.
func (s *Server) authorized(r *http.Request) bool {
	tok, ok := parseBearer(r.Header.Get("Authorization"))
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) == 1
}

// statusRecorder remembers the status code for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter {
	return r.ResponseWriter
}

func (r *statusRecorder) statusCode() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// jsonErrorWriter replaces the plain-text bodies of the mux's own 404 and 405
// answers with the JSON error body. Redirects pass through.
type jsonErrorWriter struct {
	http.ResponseWriter
	replaced bool
}

func (w *jsonErrorWriter) WriteHeader(code int) {
	if code < http.StatusBadRequest {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.replaced = true
	w.Header().Del("Content-Length")
	writeError(w.ResponseWriter, code, codeForStatus(code), http.StatusText(code))
}

func (w *jsonErrorWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil // the mux's text body; the JSON body is already written
	}
	return w.ResponseWriter.Write(b)
}
