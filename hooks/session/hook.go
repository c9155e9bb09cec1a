package session

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// warnInterval is the shortest time between two refusal warnings of one kind.
const warnInterval = 10 * time.Second

// HookID is the mochi hook id.
const HookID = "imqtt-session"

// Owner is the replicated record of a persistent session as far as the
// decision needs it.
type Owner struct {
	User      string // the identity that created the session, "" for anonymous
	Connected bool   // a client holds it on some node of the cluster
}

// Sessions is the durable session store's view (hooks/storage through a small
// adapter in broker). Every method is safe for concurrent use.
type Sessions interface {
	// SessionOwner reads the persistent session id from this node's replica;
	// ok is false when there is none.
	SessionOwner(id string) (owner Owner, ok bool, err error)
	// SessionsOf counts user's persistent sessions in the cluster.
	SessionsOf(user string) int
	// Discard deletes the offline persistent session id through the
	// replicated write path (blocks until applied here).
	Discard(id string) error
}

// Observer counts refusals (hooks/metrics). It must not block.
type Observer interface {
	LimitRefused(limit string)
}

// Options are the hook's collaborators.
type Options struct {
	// Server is mochi's server: its client table (online clients and the
	// sessions it keeps) and SendConnack. Required.
	Server *mqtt.Server
	// Sessions is the durable store's view; nil when storage is off (then the
	// client table is the only record of sessions).
	Sessions Sessions
	// Observer counts refusals; nil: nobody.
	Observer Observer
	// Log is the parent logger; the hook adds component=session.
	Log zerolog.Logger
}

// Hook decides who may use a session and how much one holds (doc.go).
type Hook struct {
	mqtt.HookBase
	cfg      Config
	lim      Limits
	srv      *mqtt.Server
	sessions Sessions
	obs      Observer
	log      zerolog.Logger

	// warn logs refusals: at most one line per warnInterval per kind, as a
	// client retrying a refused CONNECT in a loop must not flood the log (the
	// metric counts every refusal).
	warnConnect, warnSub zerolog.Logger

	mu     sync.Mutex
	claims map[*mqtt.Client]claim // CONNECTs between OnConnect and OnSessionEstablished

	subMu   sync.Mutex
	refused map[*mqtt.Client]*refusedFilters // SUBSCRIBE -> its SUBACK (subscriptions.go)
}

// claim is an accepted CONNECT whose client is not in mochi's table yet.
type claim struct {
	id, user   string
	newSession bool // a persistent session the user did not hold before
}

// New validates the config and returns the hook.
func New(cfg Config, lim Limits, opts Options) (*Hook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	if opts.Server == nil {
		return nil, fmt.Errorf("%w: options: no server", ErrInvalidConfig)
	}
	log := opts.Log.With().Str(logfield.Component, component).Logger()
	return &Hook{
		cfg:         cfg,
		lim:         lim,
		srv:         opts.Server,
		sessions:    opts.Sessions,
		obs:         opts.Observer,
		log:         log,
		warnConnect: log.Sample(&zerolog.BurstSampler{Burst: 1, Period: warnInterval}),
		warnSub:     log.Sample(&zerolog.BurstSampler{Burst: 1, Period: warnInterval}),
		claims:      map[*mqtt.Client]claim{},
		refused:     map[*mqtt.Client]*refusedFilters{},
	}, nil
}

// ID implements mqtt.Hook.
func (h *Hook) ID() string { return HookID }

// Provides implements mqtt.Hook.
func (h *Hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnect, mqtt.OnSessionEstablished, mqtt.OnDisconnect,
		mqtt.OnSubscribe, mqtt.OnPacketEncode,
	}, []byte{b})
}

// Init implements mqtt.Hook; the config is given to New.
func (h *Hook) Init(config any) error {
	if config != nil {
		return fmt.Errorf("%w: the session hook takes its config in New, got %T", ErrInvalidConfig, config)
	}
	return nil
}

// Stop forgets every claim and pending SUBACK. Idempotent; no goroutines.
func (h *Hook) Stop() error {
	h.mu.Lock()
	clear(h.claims)
	h.mu.Unlock()
	h.subMu.Lock()
	clear(h.refused)
	h.subMu.Unlock()
	return nil
}

// OnConnect decides the CONNECT (owner.go). On refusal it sends the CONNACK
// itself and returns the code, which makes mochi close the connection before
// its session takeover: an online holder of the id is not touched.
func (h *Hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	v := h.decide(cl, pk)
	if v.err == nil {
		return nil
	}
	h.refuse(cl, v)
	return v.code
}

// OnSessionEstablished drops the claim: the client is in mochi's table now.
func (h *Hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) { h.release(cl) }

// OnDisconnect drops the claim and any pending SUBACK rewrite.
func (h *Hook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.release(cl)
	h.subMu.Lock()
	delete(h.refused, cl)
	h.subMu.Unlock()
}

func (h *Hook) release(cl *mqtt.Client) {
	h.mu.Lock()
	delete(h.claims, cl)
	h.mu.Unlock()
}

// refuse logs (rate-limited), counts and answers a refused CONNECT.
func (h *Hook) refuse(cl *mqtt.Client, v verdict) {
	if h.obs != nil {
		h.obs.LimitRefused(v.limit)
	}
	h.warnConnect.Warn().Str(logfield.ClientID, cl.ID).Str(logfield.User, string(cl.Properties.Username)).
		Str(logfield.Owner, v.owner).Str(logfield.Remote, cl.Net.Remote).Str(logfield.Limit, v.limit).Err(v.err).
		Msg("connect refused")
	code := v.code
	if cl.Properties.ProtocolVersion < 5 {
		code = v.code3
	}
	// [MQTT-3.2.2-6] session present 0 on a refusal; [MQTT-3.2.2-7] close after.
	if err := h.srv.SendConnack(cl, code, false, nil); err != nil {
		h.log.Debug().Str(logfield.ClientID, cl.ID).Err(err).Msg("refusal connack not sent")
	}
}

// compile-time check that the hook satisfies mochi's interface.
var _ mqtt.Hook = (*Hook)(nil)
