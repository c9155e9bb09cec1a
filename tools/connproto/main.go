package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"

	"github.com/lesismal/nbio/logging"
)

func main() {
	var (
		model   = flag.String("model", "rawconn", "connection model: rawconn | nbio")
		addr    = flag.String("addr", "127.0.0.1:1883", "MQTT listener")
		useTLS  = flag.Bool("tls", false, "serve TLS (crypto/tls, self-signed; rawconn only)")
		stack   = flag.Int("connect-stack", 16<<10, "bytes of stack the CONNECT handler uses (simulated authentication depth)")
		pollers = flag.Int("pollers", 0, "nbio: poller goroutines (0: one per CPU)")
		handoff = flag.Bool("handoff", false, "rawconn: run the TLS handshake and every read batch on a worker pool; the connection goroutine only waits for readiness")
		statsAt = flag.String("stats-addr", "127.0.0.1:6060", "loopback HTTP address of GET /stats (empty: off; SIGUSR1 always works)")
	)
	flag.Parse()
	cfg := config{Model: *model, Addr: *addr, ConnectStack: *stack, Pollers: *pollers, Handoff: *handoff}
	if err := run(cfg, *useTLS, *statsAt); err != nil {
		fmt.Fprintln(os.Stderr, "connproto:", err)
		os.Exit(1)
	}
}

func run(cfg config, useTLS bool, statsAt string) error {
	logging.SetLevel(logging.LevelNone) // nbio logs every start and stop otherwise
	if useTLS {
		tc, err := selfSigned()
		if err != nil {
			return err
		}
		cfg.TLS = tc
	}
	srv, err := start(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()

	var hs *http.Server
	if statsAt != "" {
		ln, err := net.Listen("tcp", statsAt)
		if err != nil {
			return err
		}
		if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			ln.Close()
			return fmt.Errorf("-stats-addr %s is not loopback", statsAt)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, srv.Stats())
		})
		mux.HandleFunc("/debug/pprof/", pprof.Index) // heap profiles of the held connections
		hs = &http.Server{Handler: mux}
		go func() { _ = hs.Serve(ln) }()
		defer hs.Close()
		fmt.Fprintf(os.Stderr, "connproto: stats on http://%s/stats\n", ln.Addr())
	}
	fmt.Fprintf(os.Stderr, "connproto: model %s tls %v handoff %v on %s (pid %d)\n", cfg.Model, useTLS, cfg.Handoff, srv.Addr(), os.Getpid())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	for s := range sig {
		if s == syscall.SIGUSR1 {
			fmt.Println(srv.Stats())
			continue
		}
		break
	}
	if hs != nil {
		if err := hs.Shutdown(context.Background()); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}
