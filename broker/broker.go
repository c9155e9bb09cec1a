package broker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker/admin"
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

// Broker is one running imqtt node.
type Broker struct {
	cfg Config
	log zerolog.Logger

	dataDir   *dataDir
	store     *persist.Store
	node      *cluster.Node
	writer    forwardingWriter // the write path from any node (followers forward to the leader)
	router    *route.Router    // publish routing between nodes
	srv       *mqtt.Server
	guard     *listen.Guard
	listeners map[string]*listen.Listener
	metrics   *metrics.Metrics
	admin     *admin.Server
	authHook  *auth.Hook
	aclHook   *acl.Hook
	aclPlain  *acl.Hook // the same rules without the storage policy, for storage's own checks
	im        *imParts  // nil when im.enabled is false
	reloader  *reloader // SIGHUP and the admin API reload (adminapi_wiring.go)
	rootLog   zerolog.Logger
	storage   *storage.Hook
	native    *nativeParts // mqtt.engine: native (srv, hooks and listeners are then nil)
	hooks     []mqtt.Hook  // every hook we added, in order

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
		cfg:       cfg,
		log:       log.With().Str(logfield.Component, "broker").Str(logfield.NodeID, cfg.Node.ID).Logger(),
		rootLog:   log,
		listeners: map[string]*listen.Listener{},
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
	if err := b.openRaft(ctx); err != nil {
		return nil, err
	}
	if cfg.native() {
		if err := b.newNative(); err != nil {
			return nil, err
		}
		if err := b.newAdmin(); err != nil {
			return nil, err
		}
		return b, nil
	}
	if err := b.newMQTTServer(); err != nil {
		return nil, err
	}
	if err := b.newHooks(); err != nil {
		return nil, err
	}
	if err := b.newListeners(); err != nil {
		return nil, err
	}
	if err := b.newAdmin(); err != nil {
		return nil, err
	}
	return b, nil
}

// capabilities maps the config onto mochi's capabilities, fixing mochi's
// non-conformant defaults (see docs/CONFORMANCE.md).
func (b *Broker) capabilities() *mqtt.Capabilities {
	c := mqtt.NewDefaultServerCapabilities()
	m, l := b.cfg.MQTT, b.cfg.Limits
	c.MaximumClients = math.MaxInt64 // the listener guard counts sockets and bites first
	if l.MaxConnections > 0 {
		c.MaximumClients = int64(l.MaxConnections)
	}
	// mochi stamps MaximumMessageExpiryInterval (24 h) on every PUBLISH that carried no
	// Message Expiry; 0 disables that: a message without expiry does not expire.
	c.MaximumMessageExpiryInterval = int64(m.MaxMessageExpiry / time.Second)
	c.MaximumClientWritesPending = l.MaxQueuedWrites
	c.MaximumSessionExpiryInterval = uint32(m.MaxSessionExpiry / time.Second)
	c.MaximumPacketSize = l.MaxPacketSize
	c.ReceiveMaximum = l.ReceiveMaximum
	c.MaximumInflight = l.MaxInflight
	c.TopicAliasMaximum = m.TopicAliasMaximum
	c.SharedSubAvailable = boolByte(m.SharedSubscriptions)
	c.WildcardSubAvailable = boolByte(m.WildcardSubscriptions)
	c.SubIDAvailable = boolByte(m.SubscriptionIdentifiers)
	c.RetainAvailable = boolByte(m.RetainAvailable)
	c.MaximumQos = m.MaxQoS
	c.MinimumProtocolVersion = 3
	// Acks must not echo the PUBLISH's user properties (paho and the spec's intent).
	c.Compatibilities.NoInheritedPropertiesOnAck = true
	c.Compatibilities.ObscureNotAuthorized = m.ObscureNotAuthorized
	return c
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
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
	if b.native != nil {
		b.native.transport.Start()
	} else if err := b.srv.Serve(); err != nil {
		return fmt.Errorf("serve mqtt: %w", err)
	}
	if b.admin != nil {
		if err := b.admin.Start(); err != nil {
			return fmt.Errorf("admin listener %s: %w", b.cfg.Admin.Address, err)
		}
	}
	b.started = true
	ev := b.log.Info()
	for name, l := range b.listeners {
		ev = ev.Str(logfield.ListenerPrefix+name, l.Address())
	}
	if b.native != nil {
		for _, l := range b.cfg.transportConfig().Listeners {
			ev = ev.Str("listener_"+l.ID(), b.native.addr(l.ID()))
		}
		ev = ev.Str(logfield.Engine, EngineNative)
	}
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
	if l, ok := b.listeners[name]; ok {
		return l.Address()
	}
	return b.native.addr(name)
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

// Server exposes the mochi server to the broker's own wiring and tests; nil
// when the node runs the native engine.
func (b *Broker) Server() *mqtt.Server { return b.srv }

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

// reloadACL re-reads the rules into both ACL instances (the one mochi asks and
// storage's veto-free copy); the copy is reloaded only if the first succeeded, so
// both keep the same rules.
func (b *Broker) reloadACL() error {
	if err := b.aclHook.Reload(); err != nil {
		return err
	}
	if b.aclPlain != nil {
		if err := b.aclPlain.Reload(); err != nil {
			return fmt.Errorf("storage copy: %w", err)
		}
	}
	return nil
}

// Close stops the node gracefully: listeners stop accepting, MQTT 5 clients get
// DISCONNECT 0x8B, client goroutines are waited for, hooks and the admin listener
// are closed. Idempotent; safe after a failed New or Start.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	started := b.started
	b.mu.Unlock()

	var errs []error
	if err := b.native.close(ctx); err != nil {
		errs = append(errs, err)
	}
	if b.srv != nil {
		if started {
			done := make(chan struct{})
			go func() { defer close(done); _ = b.srv.Close() }()
			select {
			case <-done:
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("close mqtt server: %w", ctx.Err()))
			}
		} else {
			// Serve never ran: close what New opened (listener sockets, hooks).
			for _, l := range b.listeners {
				l.Close(func(string) {})
			}
			for _, h := range b.hooks {
				if err := h.Stop(); err != nil {
					errs = append(errs, fmt.Errorf("stop hook %s: %w", h.ID(), err))
				}
			}
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
	// After the MQTT side: no hook can issue a raft command any more.
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

// onPanic cleans up after a panic recovered while serving one client (the listener
// already logged it, counted it and closed the connection). mochi's own cleanup after
// the read loop did not run, so do its part here: forget a clean session, tell our
// hooks the client is gone, and publish its will as an abnormal disconnect would.
func (b *Broker) onPanic(listener string, conn net.Conn, _ any) {
	for _, cl := range b.srv.Clients.GetAll() {
		if cl.Net.Conn != conn {
			continue
		}
		cl.Stop(errPanicked)
		expire := (cl.Properties.ProtocolVersion == 5 && cl.Properties.Props.SessionExpiryInterval == 0) ||
			(cl.Properties.ProtocolVersion < 5 && cl.Properties.Clean)
		for _, h := range b.hooks {
			if h.Provides(mqtt.OnDisconnect) {
				h.OnDisconnect(cl, errPanicked, expire)
			}
		}
		if w := cl.Properties.Will; w.Flag == 1 && w.TopicName != "" {
			if err := b.srv.Publish(w.TopicName, w.Payload, w.Retain, w.Qos); err != nil {
				b.log.Warn().Err(err).Str(logfield.ClientID, cl.ID).Msg("will after panic not published")
			}
		}
		if expire && !cl.IsTakenOver() {
			cl.ClearInflights()
			b.srv.UnsubscribeClient(cl)
			b.srv.Clients.Delete(cl.ID)
		}
		b.log.Warn().Str(logfield.ClientID, cl.ID).Str(logfield.Listener, listener).Msg("client state cleaned after panic")
		return
	}
}

var errPanicked = errors.New("client handler panicked")

// closeListenerClients disconnects the clients of one listener at shutdown (0x8B
// server shutting down), as mochi's Server.closeListenerClients does, reading
// the client table once: mochi's own can deadlock (listen.WithCloseClients).
func (b *Broker) closeListenerClients(listener string) {
	for _, cl := range b.srv.Clients.GetAll() {
		if cl.Net.Listener == listener && !cl.Closed() {
			_ = b.srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
		}
	}
}
