package broker

import (
	"context"
	"fmt"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/hooks/acl"
	"github.com/imqtt/imqtt/hooks/auth"
	"github.com/imqtt/imqtt/hooks/flow"
	imhook "github.com/imqtt/imqtt/hooks/im"
	"github.com/imqtt/imqtt/hooks/limits"
	"github.com/imqtt/imqtt/hooks/metrics"
	"github.com/imqtt/imqtt/hooks/route"
	"github.com/imqtt/imqtt/hooks/session"
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

// newMQTTServer creates the mochi server with imqtt's capabilities, the
// metrics on it, and the listener guard shared by every listener.
func (b *Broker) newMQTTServer() (err error) {
	cfg, log := b.cfg, b.rootLog
	b.srv = mqtt.New(&mqtt.Options{
		Capabilities:           b.capabilities(),
		Logger:                 newMochiLogger(log),
		SysTopicResendInterval: int64(cfg.MQTT.SysInterval / time.Second),
		InlineClient:           true,
	})
	if b.metrics, err = metrics.New(metrics.Options{Server: b.srv}); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	guardLimits := cfg.Limits.Limits
	// The listener enforces the maximum packet size on every packet as it streams
	// in, so an MQTT 5 client gets DISCONNECT 0x95; mochi's own check (same value,
	// announced in CONNACK) would only close the socket.
	guardLimits.MaxPacketSize = int(cfg.Limits.MaxPacketSize)
	b.guard = listen.NewGuard(guardLimits, b.metrics, log)
	return nil
}

// newHooks builds every hook, adds them to the server in their order (hook
// order is security: see addHooks) and starts the cluster router.
func (b *Broker) newHooks() error {
	flowHook, err := b.newFlowHook()
	if err != nil {
		return err
	}
	if err := b.newAccess(flowHook); err != nil {
		return err
	}
	levelsHook, err := b.newAuth()
	if err != nil {
		return err
	}
	lcfg := b.cfg.Limits.Config
	lcfg.MaxPacketSize = b.cfg.Limits.MaxPacketSize
	lcfg.TopicAliasMaximum = b.cfg.MQTT.TopicAliasMaximum
	limitsHook, err := limits.New(lcfg)
	if err != nil {
		return fmt.Errorf("limits: %w", err)
	}
	sessionHook, err := b.newSessionHook()
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if err := b.clusterMetrics(); err != nil {
		return err
	}
	if err := b.newRouter(); err != nil {
		return err
	}
	return b.addHooks(limitsHook, sessionHook, flowHook, levelsHook)
}

// newAccess builds what decides access: the IM service (when enabled), the
// storage hook (when enabled) with its own plain ACL, and the ACL hook with
// the policies in their order. It also sets the store's observer, which needs
// storage and IM.
func (b *Broker) newAccess(flowHook *flow.Hook) (err error) {
	cfg, log := b.cfg, b.rootLog
	// The byte bound's veto comes first: every other policy decides access,
	// this one only drops a delivery the subscriber has no room for.
	aclOpts := []acl.Option{acl.WithPolicies(flowPolicy(flowHook))}
	var plainOpts []acl.Option
	if cfg.IM.Enabled {
		// The IM service decides every access to the im/ tree, for mochi's
		// checks and storage's alike (its policy is added below, after the
		// storage veto).
		deliver := imhook.NewPublisher(b.srv, func(topic string) bool {
			return b.router != nil && b.router.RemoteSubscribed(topic)
		})
		if err := b.openIM(log, deliver); err != nil {
			return err
		}
		if b.im.hook, err = imhook.New(imhook.Options{Server: b.srv, Service: b.im.svc, Log: log}); err != nil {
			return fmt.Errorf("im hook: %w", err)
		}
		plainOpts = append(plainOpts, acl.WithPolicies(b.im.hook.Policy()))
	}
	if cfg.Storage.Enabled {
		// The storage policy vetoes mochi's own deliveries to persistent sessions
		// (the storage pump delivers them), so storage judges reads with an ACL
		// built from the same rules without that policy.
		if b.aclPlain, err = acl.New(cfg.ACL, log, nil, plainOpts...); err != nil {
			return fmt.Errorf("acl: %w", err)
		}
		b.storage, err = storage.New(cfg.Storage.Config, storage.Options{
			Server: b.srv, Node: b.writer, Store: b.store, ACL: b.aclPlain, Log: log, IsLeader: b.node.IsLeader,
			Forwarded: route.Forwarded,
			Retained:  cfg.Retained, Limits: b.metrics, MaxCommandBytes: cfg.Cluster.BatchMaxBytes,
		})
		if err != nil {
			return fmt.Errorf("storage: %w", err)
		}

		// Before the IM policy: that one decides (allows) reads of im/u/{user}/,
		// and a veto consulted after it was never asked, so mochi also queued
		// IM messages for an offline persistent session in its own in-flight
		// map and re-sent them at reconnect beside the pump's copy, with the
		// same packet id (the client's SUBSCRIBE with that id then got 0x91).
		aclOpts = append(aclOpts, acl.WithPolicies(b.storage.Policy()))
	}
	if cfg.IM.Enabled {
		aclOpts = append(aclOpts, acl.WithPolicies(b.im.hook.Policy()))
	}
	// Every applied entry, whoever wrote it, keeps this node's session,
	// subscription and retained indexes in step (hooks/storage Observe) and
	// tells the IM service about presence records (im Observe).
	b.store.SetObserver(b.observer())
	if b.aclHook, err = acl.New(cfg.ACL, log, b.metrics, aclOpts...); err != nil {
		return fmt.Errorf("acl: %w", err)
	}
	return nil
}

// newAuth builds the topic depth hook and the auth hook, which checks a will
// topic's depth and ACL through it and the ACL hook. It returns the depth hook
// for addHooks.
func (b *Broker) newAuth() (*limits.LevelsHook, error) {
	cfg, log := b.cfg, b.rootLog
	loopback := map[string]bool{}
	for name, l := range cfg.Listeners.All() {
		// Behind a PROXY protocol listener the clients are not local, even
		// when the load balancer is.
		loopback[name] = l.Enabled && IsLoopbackAddress(l.Address) && !l.ProxyProtocol
	}
	// Topic depth (hooks/limits LevelsHook): created before auth, which checks a
	// will topic's depth through it before the ACL does.
	levelsHook, err := limits.NewLevels(cfg.Limits.Levels, b.metrics, log)
	if err != nil {
		return nil, fmt.Errorf("limits: %w", err)
	}
	willCheck := func(user, clientID, topic string) bool {
		return levelsHook.AllowWill(clientID, topic) && b.aclHook.CanWriteWill(user, clientID, topic)
	}
	b.authHook, err = auth.New(cfg.Auth, auth.Options{
		Server:           b.srv,
		Log:              log,
		WillCheck:        willCheck,
		LoopbackListener: func(id string) bool { return loopback[id] },
		Observer:         b.metrics,
		Limits:           b.metrics,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return levelsHook, nil
}

// newRouter builds the cluster router, which forwards publishes between nodes
// and leaves persistent sessions to storage.
func (b *Broker) newRouter() (err error) {
	ropts := route.Options{Server: b.srv, Node: b.node, Log: b.rootLog}
	if b.storage != nil {
		st := b.storage
		ropts.Durable = func(cl *mqtt.Client) bool { return st.Owns(cl.ID) }
		ropts.TakenOver = st.TakenOver
	}
	if b.router, err = route.New(ropts); err != nil {
		return fmt.Errorf("route: %w", err)
	}
	return nil
}

// addHooks adds every hook to the server in its order and starts the router.
func (b *Broker) addHooks(limitsHook *limits.Hook, sessionHook *session.Hook, flowHook *flow.Hook, levelsHook *limits.LevelsHook) error {
	// Order matters: limits bounds the keepalive before auth may refuse; auth is the
	// only OnConnectAuthenticate provider; session decides, with the identity auth
	// set, who may use the client id before any other hook sees the CONNECT (and
	// bounds a SUBSCRIBE before acl and storage see it); flow comes before acl, the
	// only hook that grants OnACLCheck (flow only waits for a full subscriber and
	// never grants).
	hooks := []mqtt.Hook{limitsHook, b.authHook, sessionHook, flowHook, b.aclHook, metrics.NewHook(b.metrics)}
	if b.im != nil {
		hooks = append(hooks, b.im.hook) // before storage: an im/ up publish ends here
	}
	if b.storage != nil {
		hooks = append(hooks, b.storage) // it sees the final packet
	}
	// The cluster router forwards what every other hook accepted, so it is last.
	hooks = append(hooks, b.router)
	// The flow tap learns the size of each publish mochi delivers: after
	// every hook that may refuse or change it.
	hooks = append(hooks, flowHook.Tap())
	// Topic depth: the last OnPacketRead provider, so the limits hook has resolved
	// a topic alias before it counts levels, and the neutral PUBACK (id 0) it hands
	// mochi for an answered packet passes no other hook (storage takes PUBACKs).
	// OnPacketRead runs before mochi processes the packet, so no hook's OnPublish,
	// OnSubscribe or OnACLCheck and not mochi's index ever see a too deep topic.
	hooks = append(hooks, levelsHook)
	for _, h := range hooks {
		if err := b.srv.AddHook(h, nil); err != nil {
			return fmt.Errorf("add hook %s: %w", h.ID(), err)
		}
		b.hooks = append(b.hooks, h)
	}
	b.router.Start()
	return nil
}

// newListeners binds the socket of every enabled listener, in config order,
// and adds it to the server; nothing is accepted before Start.
func (b *Broker) newListeners() error {
	cfg, log := b.cfg, b.rootLog
	all := cfg.Listeners.All()
	for _, name := range cfg.ListenerNames() {
		lc := all[name]
		if !lc.Enabled {
			continue
		}
		l, err := listen.New(lc.Config, b.guard, log, listen.WithOnPanic(b.onPanic),
			listen.WithCloseClients(b.closeListenerClients))
		if err != nil {
			return fmt.Errorf("listeners.%s: %w", name, err)
		}
		if err := b.srv.AddListener(l); err != nil {
			return fmt.Errorf("listeners.%s: %s: %w", name, lc.Address, err)
		}
		b.listeners[name] = l
		if cfg.Auth.AllowAnonymous && (!IsLoopbackAddress(lc.Address) || lc.ProxyProtocol) {
			b.log.Warn().Str(logfield.Listener, name).Str(logfield.Address, lc.Address).
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
	}
	return nil
}

// clusterMetrics counts the cluster node's refusals and handshake failures
// in the node's registry (both engine paths).
func (b *Broker) clusterMetrics() error {
	b.node.SetLimitObserver(b.metrics)
	if err := b.metrics.Registry().Register(newHandshakeCollector(b.node)); err != nil {
		return fmt.Errorf("cluster metrics: %w", err)
	}
	return nil
}
