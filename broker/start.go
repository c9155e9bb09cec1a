package broker

import (
	"context"
	"fmt"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/broker/engine"
	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/hooks/acl"
	"github.com/imqtt/imqtt/hooks/auth"
	"github.com/imqtt/imqtt/hooks/ext"
	imhook "github.com/imqtt/imqtt/hooks/im"
	"github.com/imqtt/imqtt/hooks/metrics"
	"github.com/imqtt/imqtt/hooks/route"
	"github.com/imqtt/imqtt/hooks/storage"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// The start steps of New, in the order New calls them. Each sets fields of b
// that Close frees, so a step that fails leaves b closable as it is; none
// accepts a connection (Start does).

// openStore locks the data directory and opens the Badger store at its
// applied index.
func (b *Broker) openStore() (err error) {
	if b.dataDir, err = openDataDir(b.cfg.Node.DataDir); err != nil {
		return err
	}
	// The durable write path: one raft node (a cluster of one by default) whose
	// state machine is the Badger store. Recovery order: the store opens at its
	// applied index, raft restores a newer snapshot if the store is behind, then
	// replays the log after the applied index (cluster/DESIGN.md).
	if b.store, err = persist.Open(b.cfg.storeConfig(), b.rootLog); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	return nil
}

// openRaft opens the raft node over the store, joins the configured cluster if
// this node is not a member yet, and waits until the node is ready (a leader
// is known), all within ctx.
func (b *Broker) openRaft(ctx context.Context) (err error) {
	cfg := b.cfg
	if b.node, err = cluster.Open(ctx, cfg.clusterConfig(), b.store.StateMachine(), b.rootLog); err != nil {
		return fmt.Errorf("open raft node: %w", err)
	}
	if join := cfg.Cluster.Join; len(join) > 0 && !b.node.IsMember() {
		if err := b.node.JoinVia(ctx, join...); err != nil {
			return fmt.Errorf("join cluster: %w", err)
		}
	}
	b.writer = forwardingWriter{b.node}
	if err := b.node.WaitReady(ctx); err != nil {
		return fmt.Errorf("raft node not ready after %s: %w", startTimeout, err)
	}
	return nil
}

// newMetrics builds the metrics registry (the engine's gauges are read from
// it at scrape time), the listener guard shared by every listener, and the
// cluster node's counters.
func (b *Broker) newMetrics() (err error) {
	cfg, log := b.cfg, b.rootLog
	gauges := func() ext.Gauges {
		if b.engine == nil {
			return ext.Gauges{}
		}
		return b.engine.Gauges()
	}
	if b.metrics, err = metrics.New(metrics.Options{Gauges: gauges}); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	guardLimits := cfg.Limits.Limits
	guardLimits.MaxPacketSize = int(cfg.Limits.MaxPacketSize)
	b.guard = listen.NewGuard(guardLimits, b.metrics, log)
	b.node.SetLimitObserver(b.metrics)
	if err := b.metrics.Registry().Register(newHandshakeCollector(b.node)); err != nil {
		return fmt.Errorf("cluster metrics: %w", err)
	}
	return nil
}

// newAccess builds what decides access: the IM service (when enabled, it
// decides every access to the im/ tree through its ACL policy), the ACL, and
// authentication, which checks a will topic through the ACL.
func (b *Broker) newAccess() (err error) {
	cfg, log := b.cfg, b.rootLog
	if err := b.newAccounts(); err != nil {
		return err
	}
	var aclOpts []acl.Option
	if cfg.IM.Enabled {
		if err := b.newIM(); err != nil {
			return err
		}
		aclOpts = append(aclOpts, acl.WithPolicies(imhook.Policy(b.im.svc)))
	}
	if b.aclHook, err = acl.New(cfg.ACL, log, b.metrics, aclOpts...); err != nil {
		return fmt.Errorf("acl: %w", err)
	}
	loopback := map[string]bool{}
	for name, l := range cfg.Listeners.All() {
		// Behind a PROXY protocol listener the clients are not local, even
		// when the load balancer is.
		loopback[name] = l.Enabled && IsLoopbackAddress(l.Address) && !l.ProxyProtocol
	}
	b.authHook, err = auth.New(cfg.Auth, auth.Options{
		Log:              log,
		WillCheck:        b.aclHook.CanWriteWill,
		LoopbackListener: func(id string) bool { return loopback[id] },
		Observer:         b.metrics,
		Limits:           b.metrics,
		Users:            b.accounts,
		Tokens:           b.mintedAuth(), // tokens.go
	})
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}

// newEngine builds the cluster router, the durable session store (when
// storage is on) and the engine over them, which loads the stored sessions
// and retained messages; then it binds the IM publisher to the engine.
func (b *Broker) newEngine() (err error) {
	cfg, log := b.cfg, b.rootLog
	// The router exists on every node: a node that bootstrapped alone routes
	// once others join it.
	if b.router, err = route.New(route.Options{Node: b.node, Log: log}); err != nil {
		return fmt.Errorf("route: %w", err)
	}
	eopts := engine.Options{
		Auth: b.authHook, ACL: b.aclHook, Observer: metrics.NewEngineObserver(b.metrics), Router: b.router, Log: log,
	}
	if cfg.Storage.Enabled {
		// Durable sessions through raft (hooks/storage EngineStore).
		b.sessions, err = storage.NewEngineStore(cfg.Storage.Config, storage.EngineOptions{
			Node: b.writer, Store: b.store, Log: log, IsLeader: b.node.IsLeader,
			Retained: cfg.Retained, Limits: b.metrics, MaxCommandBytes: cfg.Cluster.BatchMaxBytes,
			NodeID: cfg.Node.ID,
		})
		if err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		b.sessions.Start()
		eopts.Store = b.sessions
	}
	// Every applied entry, whoever wrote it, keeps this node's durable
	// sessions in step and tells the IM service about presence records;
	// observed before engine.New loads the store, so no write of another
	// node falls between the load and the watch.
	b.store.SetObserver(b.observer())
	if b.im != nil {
		eopts.Handler, eopts.Lifecycle = b.im.hook, b.im.hook
	}
	if b.engine, err = engine.New(cfg.engineConfig(), eopts); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	b.router.StartEngine(b.engine)
	b.kicker.engine.Store(b.engine)
	b.bindTokens() // tokens.go: revocations close connections
	if b.im != nil {
		if err := b.im.pub.Bind(b.engine); err != nil {
			b.log.Warn().Err(err).Msg("im deliveries of the start not published")
		}
	}
	return nil
}

// newListeners binds the socket of every enabled listener, in config order,
// on the engine's transport; nothing is accepted before Start.
func (b *Broker) newListeners() (err error) {
	cfg := b.cfg
	tc := cfg.transportConfig()
	if b.transport, err = transport.New(tc, b.guard, b.engine, b.rootLog); err != nil {
		return fmt.Errorf("listeners: %w", err)
	}
	for _, l := range tc.Listeners {
		if cfg.Auth.AllowAnonymous && (!IsLoopbackAddress(l.Address) || l.ProxyProtocol) {
			b.log.Warn().Str(logfield.Listener, l.ID()).Str(logfield.Address, l.Address).
				Msg("anonymous access is ignored on a listener that is not loopback-only or uses proxy protocol")
		}
	}
	return nil
}

// newAdmin builds the admin HTTP server when enabled (with pprof, the admin
// API and the web client) and the reloader, which needs every other part.
func (b *Broker) newAdmin() (err error) {
	cfg, log := b.cfg, b.rootLog
	if cfg.Admin.Enabled {
		b.admin, err = admin.New(cfg.adminConfig(), admin.Deps{
			Metrics:  b.metrics,
			Ready:    b.Ready,
			Version:  admin.Version{Version: b.cfg.Version},
			Refusals: b.metrics,
		}, log)
		if err != nil {
			return fmt.Errorf("admin: %w", err)
		}
		if cfg.Admin.Pprof {
			if err := mountPprof(b.admin); err != nil {
				return fmt.Errorf("admin: %w", err)
			}
		}
	}
	// After every part exists: the reloader digests the files it reloads.
	b.reloader = newReloader(b)
	if b.admin != nil {
		if err := mountAdminAPI(b); err != nil {
			return fmt.Errorf("admin api: %w", err)
		}
		if err := mountWeb(b); err != nil {
			return fmt.Errorf("web client: %w", err)
		}
		if err := mountMedia(b); err != nil {
			return fmt.Errorf("media: %w", err)
		}
	}
	return nil
}
