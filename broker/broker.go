package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/accounts"
	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/broker/engine"
	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/hooks/acl"
	"github.com/imqtt/imqtt/hooks/auth"
	"github.com/imqtt/imqtt/hooks/metrics"
	"github.com/imqtt/imqtt/hooks/route"
	"github.com/imqtt/imqtt/hooks/storage"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// startTimeout bounds opening the store and electing the (single-node) leader.
const startTimeout = 30 * time.Second

// Broker is one running imqtt node: the engine (broker/engine) over its
// transport (broker/engine/transport), with the hooks/ implementations of
// its extension interfaces, on a raft node over the Badger store.
type Broker struct {
	cfg Config
	log zerolog.Logger

	dataDir   *dataDir
	store     *persist.Store
	node      *cluster.Node
	writer    forwardingWriter // the write path from any node (followers forward to the leader)
	metrics   *metrics.Metrics
	guard     *listen.Guard
	authHook  *auth.Hook
	aclHook   *acl.Hook
	im        *imParts             // nil when im.enabled is false
	tokens    *tokenParts          // nil when tokens.enabled is false (tokens.go)
	router    *route.Router        // publish routing between nodes
	sessions  *storage.EngineStore // durable sessions (storage.enabled), nil without
	engine    *engine.Engine
	transport *transport.Server
	admin     *admin.Server
	reloader  *reloader         // SIGHUP and the admin API reload (adminapi_wiring.go)
	accounts  *accounts.Service // the replicated user store (accounts_wiring.go)
	kicker    *userKicker       // disconnects revoked users' devices
	rootLog   zerolog.Logger

	mu      sync.Mutex
	started bool
	closed  bool
}

// New builds a node from a validated config. It binds the listener sockets (so a
// port in use fails here) but accepts no connection before Start. The start
// steps (start.go) run in this order, each on the parts the previous ones made;
// on an error the node is closed, which frees whatever the steps had built.
func New(cfg Config, log zerolog.Logger) (_ *Broker, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Broker{
		cfg:     cfg,
		log:     log.With().Str(logfield.Component, "broker").Str(logfield.NodeID, cfg.Node.ID).Logger(),
		rootLog: log,
	}
	defer func() {
		if err != nil {
			_ = b.Close(context.Background())
		}
	}()

	if err := b.openStore(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for _, step := range []func() error{
		func() error { return b.openRaft(ctx) },
		b.newMetrics,
		func() error { return b.newTokens(ctx) }, // tokens.go
		b.newAccess,
		b.newEngine,
		b.newListeners,
		b.newAdmin,
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Start begins accepting connections and serving the admin listener.
func (b *Broker) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.started {
		return nil
	}
	b.transport.Start()
	if b.admin != nil {
		if err := b.admin.Start(); err != nil {
			return fmt.Errorf("admin listener %s: %w", b.cfg.Admin.Address, err)
		}
	}
	b.started = true
	ev := b.log.Info()
	for _, l := range b.cfg.transportConfig().Listeners {
		ev = ev.Str(logfield.ListenerPrefix+l.ID(), b.Addr(l.ID()))
	}
	ev = ev.Str(logfield.Engine, EngineNative)
	if b.admin != nil {
		ev = ev.Str(logfield.Admin, b.admin.Addr())
		if f := b.admin.TokenFile(); f != "" {
			ev = ev.Str(logfield.AdminTokenFile, f) // where imqttd ctl finds the token; never the token
		}
	}
	if b.node != nil {
		ev = ev.Str(logfield.Cluster, b.node.Addr())
	}
	ev.Msg("imqttd started")
	if b.cfg.Auth.AllowAnonymous {
		b.log.Warn().Msg("anonymous access is enabled on loopback-only listeners; configure auth before exposing the broker")
	}
	return nil
}

// Ready reports whether the node serves clients (for /readyz).
func (b *Broker) Ready() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return ErrClosed
	case !b.started:
		return ErrNotStarted
	}
	if err := b.node.Ready(); err != nil {
		return fmt.Errorf("raft: %w", err)
	}
	return nil
}

// Addr returns the bound address of the named listener ("admin" for the admin
// HTTP listener), or "" if there is none. Useful with port 0.
func (b *Broker) Addr(name string) string {
	if name == "admin" {
		if b.admin == nil {
			return ""
		}
		return b.admin.Addr()
	}
	if b.transport == nil {
		return ""
	}
	if a := b.transport.Addr(name); a != nil {
		return a.String()
	}
	return ""
}

// AdminTokenFile returns the file holding the admin bearer token (the
// generated <data_dir>/admin.token or admin.token_file), "" when the token is
// inline, off, or the admin listener is disabled.
func (b *Broker) AdminTokenFile() string {
	if b.admin == nil {
		return ""
	}
	return b.admin.TokenFile()
}

// Metrics returns the node's metrics registry owner.
func (b *Broker) Metrics() *metrics.Metrics { return b.metrics }

// Reload re-reads what can change without a restart (SIGHUP, and POST
// /api/v1/reload through the same reloader): the password file and JWT keys,
// the ACL rules, the IM word list and the TLS certificates. A part whose files
// are broken keeps its old state; the errors are joined and returned.
func (b *Broker) Reload() error {
	_, err := b.reloader.reloadAll()
	return err
}

// Close stops the node gracefully: the router stops forwarding, the engine
// sends MQTT 5 clients DISCONNECT 0x8B and ends every connection, the
// listeners and the admin listener close, then the IM service, the raft node
// and the store. Idempotent; safe after a failed New or Start.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()

	var errs []error
	if b.router != nil { // first: no forwarded publish reaches a closing engine
		if err := b.router.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close router: %w", err))
		}
	}
	if b.authHook != nil { // before the engine: the logins waiting in the throttle end
		_ = b.authHook.Close()
	}
	if b.tokens != nil { // before the engine: no revocation reaches a closing engine
		if err := b.tokens.close(); err != nil {
			errs = append(errs, fmt.Errorf("close tokens: %w", err))
		}
	}
	if b.engine != nil {
		if err := b.engine.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close engine: %w", err))
		}
	}
	if b.sessions != nil { // after the engine: its last writes are done
		if err := b.sessions.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close engine store: %w", err))
		}
	}
	if b.transport != nil {
		if err := b.transport.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close listeners: %w", err))
		}
	}
	if b.admin != nil {
		if err := b.admin.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close admin: %w", err))
		}
	}
	if b.guard != nil {
		b.guard.Close()
	}
	// After the MQTT side: nothing can issue a raft command any more.
	if b.accounts != nil {
		_ = b.accounts.Close() // idempotent; stops the watcher
	}
	if b.im != nil {
		if err := b.im.close(); err != nil {
			errs = append(errs, err)
		}
	}
	if b.node != nil {
		if err := b.node.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close raft node: %w", err))
		}
	}
	if b.store != nil {
		if err := b.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	if err := b.dataDir.close(); err != nil {
		errs = append(errs, fmt.Errorf("release data directory: %w", err))
	}
	b.log.Info().Msg("imqttd stopped")
	return errors.Join(errs...)
}
