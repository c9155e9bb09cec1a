package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/imqtt/imqtt/broker/engine"
	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/hooks/acl"
	"github.com/imqtt/imqtt/hooks/auth"
	"github.com/imqtt/imqtt/hooks/ext"
	imhook "github.com/imqtt/imqtt/hooks/im"
	"github.com/imqtt/imqtt/hooks/metrics"
	"github.com/imqtt/imqtt/hooks/route"
	"github.com/imqtt/imqtt/hooks/session"
	"github.com/imqtt/imqtt/hooks/storage"
	"github.com/imqtt/imqtt/internal/logfield"
)

// Engine names of mqtt.engine.
const (
	// EngineMochi is mochi's Server with imqtt's hooks (the default while the
	// engine is being built, issue 17).
	EngineMochi = "mochi"
	// EngineNative is imqtt's own engine (broker/engine over
	// broker/engine/transport). The IM service runs on it (newNativeIM);
	// clean sessions are routed between the nodes of a cluster
	// (hooks/route), durable ones replicated through the store, whose
	// observer tells each node's engine of the others' writes
	// (storage.EngineStore.Observe).
	EngineNative = "native"
)

// native reports whether the node runs imqtt's own engine.
func (c Config) native() bool { return c.MQTT.Engine == EngineNative }

// engineConfig maps the node's mqtt.* and limits.* keys onto the engine's.
func (c Config) engineConfig() engine.Config {
	e := engine.DefaultConfig()
	m, l := c.MQTT, c.Limits
	e.MaxQoS = m.MaxQoS
	e.RetainAvailable = m.RetainAvailable
	e.WildcardSubscriptions = m.WildcardSubscriptions
	e.SharedSubscriptions = m.SharedSubscriptions
	e.SubscriptionIdentifiers = m.SubscriptionIdentifiers
	e.TopicAliasMaximum = m.TopicAliasMaximum
	e.OutboundTopicAliasMaximum = m.OutboundTopicAliasMaximum
	e.MaxSessionExpiry = m.MaxSessionExpiry
	e.MaxMessageExpiry = m.MaxMessageExpiry
	e.ObscureNotAuthorized = m.ObscureNotAuthorized
	e.MinKeepalive = l.MinKeepalive
	e.MaxKeepalive = l.MaxKeepalive
	e.ReceiveMaximum = l.ReceiveMaximum
	e.MaxInflight = l.MaxInflight
	e.MaxPacketSize = l.MaxPacketSize
	e.MaxQueuedBytes = l.FlowConfig.MaxQueuedBytes
	e.SlowSubscriberWait = l.FlowConfig.MaxWait
	e.SysInterval = m.SysInterval
	e.MaxTopicLevels = l.Levels.MaxTopicLevels
	e.MaxSubscriptionsPerClient = l.SessionLimits.MaxSubscriptionsPerClient
	e.MaxSessionsPerUser = c.Session.MaxPerUser
	e.OwnerMismatchCleanStart = c.Session.OwnerMismatch == session.MismatchCleanStart
	e.Version = c.Version
	return e
}

// transportConfig lists the enabled listeners, in config order, for the
// engine's connection layer.
func (c Config) transportConfig() transport.Config {
	t := transport.DefaultConfig()
	t.Listeners = nil
	all := c.Listeners.All()
	for _, name := range c.ListenerNames() {
		if lc := all[name]; lc.Enabled {
			t.Listeners = append(t.Listeners, lc.Config)
		}
	}
	t.ConnectTimeout = c.Limits.ConnectTimeout
	t.MaxPacketSize = int(c.Limits.MaxPacketSize)
	return t
}

// nativeParts is what the native engine path builds in place of mochi's
// server, hooks and listeners.
type nativeParts struct {
	engine    *engine.Engine
	transport *transport.Server
	router    *route.Router        // routing between the nodes of the cluster
	store     *storage.EngineStore // durable sessions (storage.enabled), nil without
}

// newNative builds the metrics, the guard, the auth and ACL decisions (the
// same hooks as mochi's path, through their ext interfaces), the engine and
// its transport, binding every enabled listener. Nothing is accepted before
// Start.
func (b *Broker) newNative() (err error) {
	cfg, log := b.cfg, b.rootLog
	// The gauges are read from the engine at scrape time (it exists before
	// the admin listener serves).
	gauges := func() ext.Gauges {
		if b.native == nil || b.native.engine == nil {
			return ext.Gauges{}
		}
		return b.native.engine.Gauges()
	}
	if b.metrics, err = metrics.New(metrics.Options{Gauges: gauges}); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	guardLimits := cfg.Limits.Limits
	guardLimits.MaxPacketSize = int(cfg.Limits.MaxPacketSize)
	b.guard = listen.NewGuard(guardLimits, b.metrics, log)
	if err := b.clusterMetrics(); err != nil {
		return err
	}
	var aclOpts []acl.Option
	var imPub *imhook.EnginePublisher
	if cfg.IM.Enabled {
		if imPub, err = b.newNativeIM(); err != nil {
			return err
		}
		// The IM service decides every access to the im/ tree, as on the
		// mochi path (start.go newAccess).
		aclOpts = append(aclOpts, acl.WithPolicies(imhook.Policy(b.im.svc)))
	}
	if b.aclHook, err = acl.New(cfg.ACL, log, b.metrics, aclOpts...); err != nil {
		return fmt.Errorf("acl: %w", err)
	}
	loopback := map[string]bool{}
	for name, l := range cfg.Listeners.All() {
		// Behind a PROXY protocol listener the clients are not local.
		loopback[name] = l.Enabled && IsLoopbackAddress(l.Address) && !l.ProxyProtocol
	}
	b.authHook, err = auth.New(cfg.Auth, auth.Options{
		Log:              log,
		WillCheck:        b.aclHook.CanWriteWill,
		LoopbackListener: func(id string) bool { return loopback[id] },
		Observer:         b.metrics,
		Limits:           b.metrics,
	})
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	n := &nativeParts{}
	b.native = n
	// The router exists on every node, as on the mochi path: a node that
	// bootstrapped alone routes once others join it.
	if n.router, err = route.New(route.Options{Node: b.node, Log: log}); err != nil {
		return fmt.Errorf("route: %w", err)
	}
	eopts := engine.Options{
		Auth: b.authHook, ACL: b.aclHook, Observer: metrics.NewEngineObserver(b.metrics), Router: n.router, Log: log,
	}
	if cfg.Storage.Enabled {
		// Durable sessions through raft (hooks/storage EngineStore); the
		// engine loads the stored sessions and retained messages in New.
		n.store, err = storage.NewEngineStore(cfg.Storage.Config, storage.EngineOptions{
			Node: b.writer, Store: b.store, Log: log, IsLeader: b.node.IsLeader,
			Retained: cfg.Retained, Limits: b.metrics, MaxCommandBytes: cfg.Cluster.BatchMaxBytes,
			NodeID: cfg.Node.ID,
		})
		if err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		// Observed before engine.New loads the store, so no write of
		// another node falls between the load and the watch.
		b.store.SetObserver(b.observer())
		n.store.Start()
		eopts.Store = n.store
	}
	if b.im != nil {
		eopts.Handler, eopts.Lifecycle = b.im.engine, b.im.engine
	}
	n.engine, err = engine.New(cfg.engineConfig(), eopts)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	n.router.StartEngine(n.engine)
	if imPub != nil {
		if err := imPub.Bind(n.engine); err != nil {
			b.log.Warn().Err(err).Msg("im deliveries of the start not published")
		}
	}
	if n.transport, err = transport.New(cfg.transportConfig(), b.guard, n.engine, log); err != nil {
		return fmt.Errorf("listeners: %w", err)
	}
	for _, l := range cfg.transportConfig().Listeners {
		if cfg.Auth.AllowAnonymous && (!IsLoopbackAddress(l.Address) || l.ProxyProtocol) {
			b.log.Warn().Str(logfield.Listener, l.ID()).Str(logfield.Address, l.Address).
				Msg("anonymous access is ignored on a listener that is not loopback-only or uses proxy protocol")
		}
	}
	return nil
}

// newNativeIM builds the IM service on the native engine: its publisher
// (bound to the engine once the engine exists: the engine's Authorizer
// needs the service's policy first), the engine adapter (ext.PublishHandler
// and ext.Lifecycle) and the store observer (presence records).
func (b *Broker) newNativeIM() (*imhook.EnginePublisher, error) {
	pub := imhook.NewEnginePublisher()
	if err := b.openIM(b.rootLog, pub); err != nil {
		return nil, err
	}
	h, err := imhook.NewEngineHook(imhook.EngineOptions{Service: b.im.svc, Log: b.rootLog})
	if err != nil {
		return nil, fmt.Errorf("im hook: %w", err)
	}
	b.im.engine = h
	b.store.SetObserver(b.observer())
	return pub, nil
}

// addr returns the bound address of a native listener, "" if there is none.
func (n *nativeParts) addr(name string) string {
	if n == nil || n.transport == nil {
		return ""
	}
	if a := n.transport.Addr(name); a != nil {
		return a.String()
	}
	return ""
}

// close stops the engine (DISCONNECT 0x8B to v5 clients), then the
// transport's sockets and goroutines. Safe on a partly built value.
func (n *nativeParts) close(ctx context.Context) error {
	if n == nil {
		return nil
	}
	var errs []error
	if n.router != nil { // first: no forwarded publish reaches a closing engine
		if err := n.router.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close router: %w", err))
		}
	}
	if n.engine != nil {
		if err := n.engine.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close engine: %w", err))
		}
	}
	if n.store != nil { // after the engine: its last writes are done
		if err := n.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close engine store: %w", err))
		}
	}
	if n.transport != nil {
		if err := n.transport.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close listeners: %w", err))
		}
	}
	return errors.Join(errs...)
}
