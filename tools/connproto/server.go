package main

import (
	"crypto/tls"
	"fmt"
)

// server is one connection model serving the prototype's MQTT subset.
type server interface {
	// Addr is the listener's address (host:port).
	Addr() string
	// Stats forces two GCs and reports memory and counters.
	Stats() Snapshot
	// Close stops accepting, closes every connection and returns once every
	// goroutine the server started has returned. It is idempotent.
	Close() error
}

// config selects and tunes a model.
type config struct {
	Model        string // "rawconn" or "nbio"
	Addr         string
	TLS          *tls.Config // nil: plain TCP
	ConnectStack int         // bytes of stack a CONNECT uses (authenticate)
	Pollers      int         // nbio: poller goroutines (0: one per CPU)
	Handoff      bool        // rawconn: handshake and reads on workers, not the parked goroutine
	Workers      int         // rawconn with Handoff: worker goroutines (0: 4 per CPU)
}

// start launches the model named in cfg.
func start(cfg config) (server, error) {
	st := newStats(cfg.ConnectStack)
	switch cfg.Model {
	case "rawconn":
		return startRaw(cfg, st)
	case "nbio":
		if cfg.TLS != nil {
			return nil, fmt.Errorf("model nbio: -tls is not built (docs/BENCHMARKS.md says why)")
		}
		return startNbio(cfg, st)
	default:
		return nil, fmt.Errorf("unknown model %q (rawconn, nbio)", cfg.Model)
	}
}
