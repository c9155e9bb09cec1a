package storage

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/hooks/acl"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// component is the value of the component field (logfield.Component) on this package's log events.
const component = "storage"

// Applier is the replicated write path (cluster.Node satisfies it). Apply
// blocks until cmd is committed and applied and returns the state machine's
// result for it ([]persist.Result, or an error value).
type Applier interface {
	Apply(ctx context.Context, cmd []byte) (any, error)
}

// ACL answers whether a client may read a topic; it must NOT consult the
// hook's Policy (see doc.go "Wiring").
type ACL interface {
	Check(user, clientID, topic string, access acl.Access) bool
}

// Options are the hook's collaborators. All but Log are required.
type Options struct {
	Server *mqtt.Server
	Node   Applier
	Store  *persist.Store
	ACL    ACL
	Log    zerolog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// IsLeader reports whether this node may run the expiry sweep; nil means
	// always (single node).
	IsLeader func() bool
	// Forwarded reports whether a publish's client is the cluster router's
	// inline client (a publish another node already made durable): OnPublish
	// then does nothing. nil: never.
	Forwarded func(cl *mqtt.Client) bool
	// Retained bounds each user's retained messages (retained.go); the zero
	// value bounds nothing.
	Retained RetainedConfig
	// Limits counts refusals by a bound (nil: not counted).
	Limits LimitObserver
	// MaxCommandBytes is the node's largest command (cluster.batch_max_bytes;
	// 0: its default): a fan-out is split to stay under it (fanout.go).
	MaxCommandBytes int
}

// Hook is the storage hook. Create it with New, pass Policy() to acl.New,
// then add it to the server before Serve.
type Hook struct {
	mqtt.HookBase
	cfg  Config
	opts Options
	log  zerolog.Logger
	now  func() time.Time

	mu       sync.Mutex
	sessions map[string]*session // persistent sessions known to this node
	perUser  map[string]int      // persistent sessions per username, in step with sessions (owner.go)
	// establishing counts the session writes of OnSessionEstablish in
	// flight, per client id (Observe leaves those ids alone).
	establishing map[string]int
	wills        map[string]pendingWill // stored wills waiting for their time (wills.go), under mu

	core       *core        // the write path shared with EngineStore (core.go)
	willClient *mqtt.Client // inline client stored wills are published from
	stopped    bool

	done     chan struct{}
	life     context.Context // cancelled by Stop; the parent of every apply
	kill     context.CancelFunc
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// session is the node's view of one persistent session.
type session struct {
	id string
	// guarded by Hook.mu
	cl       *mqtt.Client // connected client, nil when offline
	pump     *pump
	sentSeq  uint64 // highest seq written to a client on this node (DUP marking)
	username string
	proto    byte
	existed  []bool // OnSubscribe -> OnSubscribed: filter existed before
	// retained messages waiting for the SUBACK to be sent
	pendingRetained []persist.Message
}

// aclRead is the access of a delivery.
const aclRead = acl.AccessRead

// New checks cfg and opts and returns the hook; it starts nothing (Init does).
func New(cfg Config, opts Options) (*Hook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := opts.Retained.Validate(); err != nil {
		return nil, err
	}
	switch {
	case opts.Server == nil:
		return nil, fmt.Errorf("%w: options: no server", ErrInvalidConfig)
	case opts.Node == nil:
		return nil, fmt.Errorf("%w: options: no applier", ErrInvalidConfig)
	case opts.Store == nil:
		return nil, fmt.Errorf("%w: options: no store", ErrInvalidConfig)
	case opts.ACL == nil:
		return nil, fmt.Errorf("%w: options: no acl", ErrInvalidConfig)
	}
	h := &Hook{
		cfg:          cfg,
		opts:         opts,
		log:          opts.Log.With().Str(logfield.Component, component).Logger(),
		now:          opts.Now,
		sessions:     make(map[string]*session),
		perUser:      make(map[string]int),
		establishing: map[string]int{},
		wills:        make(map[string]pendingWill),
		done:         make(chan struct{}),
	}
	h.willClient = newWillClient(opts.Server)
	h.life, h.kill = context.WithCancel(context.Background())
	if h.now == nil {
		h.now = time.Now
	}
	h.core = newCore(coreOptions{
		cfg: cfg, node: opts.Node, store: opts.Store, retained: opts.Retained, limits: opts.Limits,
		maxCommandBytes: opts.MaxCommandBytes, log: h.log, now: h.now, life: h.life,
	})
	return h, nil
}

// ID returns "imqtt-storage".
func (h *Hook) ID() string { return "imqtt-storage" }

// Provides reports the events the hook handles.
func (h *Hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnSessionEstablish, mqtt.OnSessionEstablished, mqtt.OnDisconnect,
		mqtt.OnSubscribe, mqtt.OnSubscribed, mqtt.OnUnsubscribed,
		mqtt.OnPublish, mqtt.OnSelectSubscribers, mqtt.OnPacketRead, mqtt.OnPacketSent,
		mqtt.OnWillSent, mqtt.OnClientExpired,
		mqtt.StoredClients, mqtt.StoredSubscriptions, mqtt.StoredRetainedMessages,
	}, []byte{b})
}

// Init starts the expiry sweep. It takes no config (the config is given to New).
func (h *Hook) Init(config any) error {
	if config != nil {
		return fmt.Errorf("%w: storage hook takes its config in New, not Init", ErrInvalidConfig)
	}
	h.wg.Add(2)
	go h.sweepLoop()
	go h.willLoop()
	return nil
}

// Stop stops every pump and the sweep and waits for them. Idempotent.
func (h *Hook) Stop() error {
	h.stopOnce.Do(func() {
		close(h.done)
		h.kill()
		h.mu.Lock()
		h.stopped = true
		var ps []*pump
		for _, s := range h.sessions {
			if s.pump != nil {
				ps = append(ps, s.pump)
			}
		}
		h.mu.Unlock()
		for _, p := range ps {
			p.stop()
		}
	})
	h.wg.Wait()
	return nil
}

// Policy returns the acl policy that vetoes mochi's own deliveries (AccessRead)
// to persistent sessions: the pump delivers those. It decides nothing else.
func (h *Hook) Policy() acl.Policy {
	return func(_, clientID, _ string, access acl.Access) (acl.Verdict, bool) {
		if access != acl.AccessRead {
			return acl.Deny, false
		}
		if h.owns(clientID) {
			return acl.Deny, true
		}
		return acl.Deny, false
	}
}

// Owns reports whether clientID is a persistent session this hook keeps (its
// subscriptions are replicated and matched on every node).
func (h *Hook) Owns(clientID string) bool { return h.owns(clientID) }

// owns reports whether clientID is a persistent session this hook delivers to.
func (h *Hook) owns(clientID string) bool {
	h.mu.Lock()
	_, ok := h.sessions[clientID]
	h.mu.Unlock()
	return ok
}

// apply applies ops through the node (core.apply), within the hook's life.
func (h *Hook) apply(ops []persist.Op) ([]persist.Result, error) {
	return h.core.apply(h.life, ops)
}
