package broker

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"runtime/debug"

	"github.com/imqtt/imqtt/broker/admin"
)

// mountPprof adds Go's profiling endpoints under /debug/pprof/ on the admin
// listener (admin.pprof: true). They sit behind the admin token like every other
// admin route, so on a non-loopback admin address they need the bearer token.
// /debug/pprof/freeosmemory (not Go's) runs debug.FreeOSMemory, for memory
// measurements (tools/connproto/measure.sh).
func mountPprof(s *admin.Server) error {
	routes := map[string]http.Handler{
		"/debug/pprof/":        http.HandlerFunc(pprof.Index),
		"/debug/pprof/cmdline": http.HandlerFunc(pprof.Cmdline),
		"/debug/pprof/profile": http.HandlerFunc(pprof.Profile),
		"/debug/pprof/symbol":  http.HandlerFunc(pprof.Symbol),
		"/debug/pprof/trace":   http.HandlerFunc(pprof.Trace),
		"/debug/pprof/freeosmemory": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			debug.FreeOSMemory() // a GC, then every free page back to the OS: RSS is then live memory
			w.WriteHeader(http.StatusNoContent)
		}),
	}
	for pattern, h := range routes {
		if err := s.Handle(pattern, h); err != nil {
			return fmt.Errorf("mount %s: %w", pattern, err)
		}
	}
	return nil
}
