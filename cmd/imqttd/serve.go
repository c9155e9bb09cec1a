package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker"
	"github.com/imqtt/imqtt/internal/logfield"
)

// serveFlags are the command-line overrides of serve; they win over the config
// file and IMQTT_* variables.
type serveFlags struct {
	config, dataDir, nodeID, logLevel, logFormat string
	tcp, tls, ws, wss, admin, raftAddr           string
	advertise, join, clusterSecretFile           string
	bootstrap                                    bool
	shutdownTimeout                              time.Duration
}

func parseServeFlags(args []string, stderr io.Writer) (serveFlags, error) {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", "", "YAML config file (default: the embedded loopback-only config)")
	fs.StringVar(&f.dataDir, "data-dir", "", "data directory (node.data_dir)")
	fs.StringVar(&f.nodeID, "node-id", "", "node id (node.id)")
	fs.StringVar(&f.logLevel, "log-level", "", "trace|debug|info|warn|error (log.level)")
	fs.StringVar(&f.logFormat, "log-format", "", "auto|json|console (log.format)")
	fs.StringVar(&f.tcp, "tcp", "", "enable the MQTT TCP listener on ADDR ('off' disables it)")
	fs.StringVar(&f.tls, "tls", "", "enable the MQTT TLS listener on ADDR (certificates from the config)")
	fs.StringVar(&f.ws, "ws", "", "enable the MQTT WebSocket listener on ADDR ('off' disables it)")
	fs.StringVar(&f.wss, "wss", "", "enable the MQTT secure WebSocket listener on ADDR")
	fs.StringVar(&f.admin, "admin", "", "admin HTTP listener ADDR ('off' disables it)")
	fs.StringVar(&f.raftAddr, "raft-addr", "", "cluster port: raft, forwarded writes and routing links (cluster.bind_addr)")
	fs.StringVar(&f.advertise, "advertise-addr", "", "cluster address other nodes dial (cluster.advertise_addr)")
	fs.BoolVar(&f.bootstrap, "bootstrap", false, "start a new cluster with this node as its first voter (cluster.bootstrap; the default for a single node)")
	fs.StringVar(&f.join, "join", "", "comma-separated cluster ports of existing members to join through (cluster.join)")
	fs.StringVar(&f.clusterSecretFile, "cluster-secret-file", "", "file holding the cluster secret, a copy of a member's <data_dir>/cluster.secret (cluster.secret_file)")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a graceful stop may take")
	if err := fs.Parse(args); err != nil {
		return f, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return f, nil
}

func (f serveFlags) apply(cfg *broker.Config) {
	set := func(s *string, v string) {
		if v != "" {
			*s = v
		}
	}
	set(&cfg.Node.DataDir, f.dataDir)
	set(&cfg.Node.ID, f.nodeID)
	set(&cfg.Log.Level, f.logLevel)
	set(&cfg.Log.Format, f.logFormat)
	set(&cfg.Cluster.BindAddr, f.raftAddr)
	set(&cfg.Cluster.AdvertiseAddr, f.advertise)
	if f.clusterSecretFile != "" {
		cfg.Cluster.SecretFile, cfg.Cluster.Secret = f.clusterSecretFile, ""
	}
	if f.bootstrap {
		cfg.Cluster.Bootstrap = true
		cfg.Cluster.Join = nil
	}
	if f.join != "" {
		cfg.Cluster.Join = strings.Split(f.join, ",")
	}
	listener := func(l *broker.ListenerConfig, v string) {
		switch v {
		case "":
		case "off":
			l.Enabled = false
		default:
			l.Enabled, l.Address = true, v
		}
	}
	listener(&cfg.Listeners.TCP, f.tcp)
	listener(&cfg.Listeners.TLS, f.tls)
	listener(&cfg.Listeners.WS, f.ws)
	listener(&cfg.Listeners.WSS, f.wss)
	switch f.admin {
	case "":
	case "off":
		cfg.Admin.Enabled = false
	default:
		cfg.Admin.Enabled, cfg.Admin.Address = true, f.admin
	}
}

// newLogger builds the root logger: JSON, or console output on a terminal.
func newLogger(cfg broker.LogConfig, w io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(strings.ToLower(cfg.Level))
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("%w: log.level: %w", errConfig, err)
	}
	console := cfg.Format == "console"
	if cfg.Format == "auto" {
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			console = true
		}
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}

func serve(args []string, stderr io.Writer, env []string) error {
	f, err := parseServeFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(f.config, env)
	if err != nil {
		return err
	}
	f.apply(&cfg)
	cfg.Version = version
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errConfig, err)
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return err
	}
	source := "embedded default"
	if f.config != "" {
		source = f.config
	}
	log.Info().Str(logfield.Version, version).Str(logfield.Config, source).Str(logfield.DataDir, cfg.Node.DataDir).Msg("imqttd starting")
	if f.config == "" {
		log.Info().Msg("embedded default config: loopback-only listeners, anonymous access allowed on them")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// SIGHUP is caught from the start: its default action would kill the
	// process, and "imqttd started" is logged before the serve loop runs. One
	// that arrives before the loop is kept and handled there.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	b, err := broker.New(cfg, log)
	if err != nil {
		if errors.Is(err, broker.ErrInvalidConfig) {
			return fmt.Errorf("%w: %w", errConfig, err)
		}
		return err
	}
	if err := b.Start(); err != nil {
		_ = b.Close(context.Background())
		return err
	}

	for {
		select {
		case <-hup:
			log.Info().Msg("SIGHUP: reloading users, ACL rules and TLS certificates")
			_ = b.Reload() // Reload logs what failed; the old config stays in force
		case <-ctx.Done():
			log.Info().Msg("shutting down")
			cctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
			err := b.Close(cctx)
			cancel()
			return err
		}
	}
}
