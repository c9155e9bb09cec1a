package broker

import (
	"fmt"
	"net/http"
	"net/http/pprof"

	"github.com/imqtt/imqtt/broker/admin"
)

// mountPprof adds Go's profiling endpoints under /debug/pprof/ on the admin
// listener (admin.pprof: true). They sit behind the admin token like every other
// admin route, so on a non-loopback admin address they need the bearer token.
func mountPprof(s *admin.Server) error {
	routes := map[string]http.Handler{
		"/debug/pprof/":        http.HandlerFunc(pprof.Index),
		"/debug/pprof/cmdline": http.HandlerFunc(pprof.Cmdline),
		"/debug/pprof/profile": http.HandlerFunc(pprof.Profile),
		"/debug/pprof/symbol":  http.HandlerFunc(pprof.Symbol),
		"/debug/pprof/trace":   http.HandlerFunc(pprof.Trace),
	}
	for pattern, h := range routes {
		if err := s.Handle(pattern, h); err != nil {
			return fmt.Errorf("mount %s: %w", pattern, err)
		}
	}
	return nil
}
