package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// scenarios maps -scenario to its runner. The IM scenarios live in im.go and
// imstorm.go (the reconnect + sync storm).
var scenarios = map[string]func(context.Context, Config) (*Result, error){
	"fanin":   runFlow,
	"fanout":  runFlow,
	"pairs":   runFlow,
	"conns":   runConns,
	"imchat":  runIM,
	"imgroup": runIM,
	"imstorm": runStorm,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "report" {
		if err := report(args[1:], os.Stdin, stdout); err != nil {
			fmt.Fprintf(stderr, "imqtt-bench report: %v\n", err)
			return 1
		}
		return 0
	}
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "imqtt-bench: %v\n", err)
		return 2
	}
	if cfg.Label == "" {
		cfg.Label = cfg.Broker
	}
	raiseNofile()
	if cfg.CPUProfile != "" {
		stopProfile, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			fmt.Fprintf(stderr, "imqtt-bench: %v\n", err)
			return 2
		}
		defer stopProfile()
	}
	res, err := scenarios[cfg.Scenario](ctx, cfg)
	if res != nil {
		res.writeHuman(stdout)
		if cfg.JSON {
			if err := res.writeJSON(stdout); err != nil {
				fmt.Fprintf(stderr, "imqtt-bench: %v\n", err)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "imqtt-bench: %v\n", err)
		return 1
	}
	return 0
}

// raiseNofile lifts the soft descriptor limit to the hard one (conns needs n+few).
func raiseNofile() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// startCPUProfile writes the tool's CPU profile to path until the returned stop.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
