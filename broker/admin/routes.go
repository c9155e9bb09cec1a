package admin

import (
	"fmt"
	"net/http"
	"runtime"

	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// handleHealthz answers 200 "ok" while the process serves HTTP (liveness).
func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok\n"))
}

// readyBody is the JSON of GET /readyz.
type readyBody struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// handleReadyz answers 200 {"status":"ready"} when Deps.Ready returns nil, else
// 503 {"status":"not_ready","reason":"..."}.
func (s *Server) handleReadyz(w http.ResponseWriter, _ *http.Request) {
	if s.deps.Ready != nil {
		if err := s.deps.Ready(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, readyBody{Status: "not_ready", Reason: err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, readyBody{Status: "ready"})
}

// versionBody is the JSON of GET /api/v1/version.
type versionBody struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Commit       string `json:"commit"`
	BuildDate    string `json:"build_date"`
	GoVersion    string `json:"go_version"`
	MochiVersion string `json:"mochi_version"` // of the wire codec module (mochi's packets)
}

func (s *Server) handleVersion(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, versionBody{
		Name:         "imqtt",
		Version:      s.deps.Version.Version,
		Commit:       s.deps.Version.Commit,
		BuildDate:    s.deps.Version.BuildDate,
		GoVersion:    runtime.Version(),
		MochiVersion: codecVersion(),
	})
}

// metricsHandler serves Deps.Metrics in the Prometheus exposition formats. A
// failing collector is logged and the rest is still served.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.deps.Metrics, promhttp.HandlerOpts{
		ErrorLog:            promErrorLog{s.log},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
	})
}

// promErrorLog adapts zerolog to promhttp.Logger.
type promErrorLog struct{ log zerolog.Logger }

func (l promErrorLog) Println(v ...any) {
	l.log.Warn().Str(logfield.Reason, fmt.Sprint(v...)).Msg("metrics gather error")
}

// codecModule is the module of the wire codec (github.com/mochi-mqtt/server/v2/packets).
const codecModule = "github.com/mochi-mqtt/server/v2"

// codecVersion is the version of codecModule in the build, "unknown" when
// the binary carries no module information.
func codecVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == codecModule {
				if d.Replace != nil && d.Replace.Version != "" {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}
