package auth

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

// HookID is the mochi hook id.
const HookID = "imqtt-auth"

// Options carries the collaborators of the hook.
type Options struct {
	// Server sends the refusal CONNACK on mochi's path; nil when the hook
	// serves only the engine (ext.Authenticator), which answers itself.
	Server *mqtt.Server
	// Log is the parent logger; the hook adds component=auth.
	Log zerolog.Logger
	// WillCheck answers whether user (the authenticated identity, "" for
	// anonymous) may publish its will to topic; it is called before the CONNACK
	// when the CONNECT carries a will. Required: the broker passes the ACL's
	// publish check. It must be safe for concurrent use and must not block.
	WillCheck func(user, clientID, topic string) bool
	// LoopbackListener reports whether the listener with this id is bound to
	// loopback addresses only. Required when Config.AllowAnonymous is true.
	LoopbackListener func(listenerID string) bool
	// Observer is told about refusals (nil: nobody).
	Observer Observer
	// Limits is told about attempts login throttling delayed or refused
	// (nil: nobody).
	Limits LimitObserver
}

// Hook is the mochi hook that decides authentication. Create it with New,
// add it with server.AddHook(h, nil) before any other hook that provides
// OnConnect, and call Reload on SIGHUP. See the package documentation.
type Hook struct {
	mqtt.HookBase

	cfg       Config
	log       zerolog.Logger
	server    *mqtt.Server
	willCheck func(user, clientID, topic string) bool
	loopback  func(string) bool
	observer  Observer
	limits    LimitObserver

	throttle    *throttle      // nil when auth.throttle.enabled is false
	throttleLog zerolog.Logger // log sampled to one line per throttleWarnEvery

	keys     atomic.Pointer[keys] // current credential generation
	reloadMu sync.Mutex           // serialises Reload

	mu     sync.Mutex
	passed map[*mqtt.Client]struct{} // accepted in OnConnect, awaiting OnConnectAuthenticate
}

// New validates cfg, loads the password file and key files, and returns the
// hook. Errors wrap ErrInvalidConfig, ErrMissingOption, ErrInvalidKey, a
// *ParseError or the file's I/O error, and name the field or file.
func New(cfg Config, opts Options) (*Hook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.WillCheck == nil {
		return nil, fmt.Errorf("auth: Options.WillCheck: %w", ErrMissingOption)
	}
	if cfg.AllowAnonymous && opts.LoopbackListener == nil {
		return nil, fmt.Errorf("auth: Options.LoopbackListener (required by auth.allow_anonymous): %w", ErrMissingOption)
	}
	h := &Hook{
		cfg:       cfg,
		log:       opts.Log.With().Str(fieldComponent, component).Logger(),
		server:    opts.Server,
		willCheck: opts.WillCheck,
		loopback:  opts.LoopbackListener,
		observer:  opts.Observer,
		limits:    opts.Limits,
		passed:    make(map[*mqtt.Client]struct{}),
	}
	h.throttleLog = h.log.Sample(&zerolog.BurstSampler{Burst: 1, Period: throttleWarnEvery})
	if cfg.Throttle.Enabled {
		h.throttle = newThrottle(cfg.Throttle, time.Now)
	}
	k, err := h.load()
	if err != nil {
		return nil, err
	}
	h.keys.Store(k)
	if !cfg.hasAuthMethod() {
		h.log.Warn().Msg(msgNoAuthMethod)
	}
	return h, nil
}

// load reads every configured file into a new key generation.
func (h *Hook) load() (*keys, error) {
	k := &keys{}
	if h.cfg.PasswordFile != "" {
		pf, err := LoadPasswordFile(h.cfg.PasswordFile)
		if err != nil {
			return nil, err
		}
		if err := pf.SetCost(h.cfg.BcryptCost); err != nil {
			return nil, err
		}
		k.passwords = pf
	}
	if h.cfg.JWT.Enabled {
		v, err := loadJWT(h.cfg.JWT)
		if err != nil {
			return nil, err
		}
		k.jwt = v
	}
	ev := h.log.Info().Bool(fieldAnonymous, h.cfg.AllowAnonymous).Stringer(fieldThrottle, h.cfg.Throttle)
	if k.passwords != nil {
		ev = ev.Str(fieldFile, k.passwords.Path()).Int(fieldUsers, k.passwords.Len())
	}
	if k.jwt != nil {
		ev = ev.Object(fieldJWT, k.jwt)
	}
	ev.Msg(msgLoaded)
	return k, nil
}

// Reload re-reads the password file and the key files. It is all or nothing:
// if any file is missing or broken, the hook keeps the previous credentials
// and Reload returns the error, which names the file (and line). Safe to call
// concurrently with connecting clients; connections already accepted stay.
func (h *Hook) Reload() error {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	k, err := h.load()
	if err != nil {
		h.log.Error().Err(err).Msg(msgReloadFailed)
		return fmt.Errorf("auth reload: %w", err)
	}
	h.keys.Store(k)
	return nil
}

// ID implements mqtt.Hook.
func (h *Hook) ID() string { return HookID }

// Provides implements mqtt.Hook: OnConnect, OnConnectAuthenticate and
// OnDisconnect, nothing else.
func (h *Hook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnDisconnect}, []byte{b})
}

// Init implements mqtt.Hook. The configuration is given to New, so config must
// be nil.
func (h *Hook) Init(config any) error {
	if config != nil {
		return fmt.Errorf("auth: hook config is passed to New, got %T in Init: %w", config, ErrInvalidConfig)
	}
	return nil
}

// Stop implements mqtt.Hook. It forgets pending clients and refuses the
// attempts waiting in the login throttle; it is idempotent. The hook owns no
// goroutines.
func (h *Hook) Stop() error {
	if h.throttle != nil {
		h.throttle.stop()
	}
	h.mu.Lock()
	clear(h.passed)
	h.mu.Unlock()
	return nil
}

// OnConnect authenticates the client and checks its will topic, before mochi
// sends the CONNACK. On success it sets cl.Properties.Username to the
// identity ("" for anonymous) and remembers cl for OnConnectAuthenticate. On
// refusal it sends the CONNACK itself (v5 0x86/0x87, v3.1.1 4/5) and returns
// the v5 code, which makes mochi drop the connection.
func (h *Hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	h.sweep()
	c := credentials{
		listener:     cl.Net.Listener,
		remote:       cl.Net.Remote,
		usernameFlag: pk.Connect.UsernameFlag,
		username:     string(pk.Connect.Username),
		passwordFlag: pk.Connect.PasswordFlag,
		password:     string(pk.Connect.Password),
	}
	d := h.judge(c, cl.ID, pk.Connect.WillFlag || cl.Properties.Will.Flag == 1, cl.Properties.Will.TopicName)
	if d.reason != "" {
		return h.refuse(cl, pk, d)
	}
	if d.identity == "" {
		cl.Properties.Username = nil
	} else {
		cl.Properties.Username = []byte(d.identity)
	}
	h.mu.Lock()
	h.passed[cl] = struct{}{}
	h.mu.Unlock()
	h.log.Debug().
		Str(fieldClientID, cl.ID).
		Str(fieldUser, d.identity).
		Str(fieldListener, cl.Net.Listener).
		Str(fieldRemote, cl.Net.Remote).
		Str(fieldMethod, d.method).
		Msg(msgAccepted)
	return nil
}

// judge decides one CONNECT for both paths (mochi's OnConnect and the
// engine's Authenticate): login throttling (may wait), the decision table of
// doc.go, then the will topic's ACL check.
func (h *Hook) judge(c credentials, clientID string, will bool, willTopic string) decision {
	k := h.keys.Load()
	att, ok := h.gate(k, c) // may wait (login throttling)
	if !ok {
		return throttled()
	}
	d := k.decide(c, h.cfg.AllowAnonymous, h.loopback)
	finishAttempt(att, d)
	if d.reason == "" && will && !h.willCheck(d.identity, clientID, willTopic) {
		d = refuse(ReasonWillDenied, packets.ErrNotAuthorized, errors.New("will topic refused by acl"))
	}
	return d
}

// refuse logs, counts and answers a refused CONNECT.
func (h *Hook) refuse(cl *mqtt.Client, pk packets.Packet, d decision) error {
	h.refused(cl.ID, cl.Net.Remote, cl.Net.Listener, string(pk.Connect.Username), d)
	// [MQTT-3.2.2-6] session present 0 on a refusal; [MQTT-3.2.2-7] close after.
	if h.server == nil {
		return d.code // built for the engine only: it answers refusals itself
	}
	if err := h.server.SendConnack(cl, connackCode(cl.Properties.ProtocolVersion, d.code), false, nil); err != nil {
		h.log.Debug().Str(fieldClientID, cl.ID).Err(err).Msg(msgConnackFail)
	}
	return d.code
}

// refused logs and counts a refused CONNECT.
func (h *Hook) refused(clientID, remote, listener, username string, d decision) {
	ev := h.log.Warn()
	if d.reason == ReasonThrottled {
		ev = h.log.Debug() // a flood: gate logs a rate-limited warning
	}
	ev.
		Str(fieldClientID, clientID).
		Str(fieldRemote, remote).
		Str(fieldListener, listener).
		Str(fieldUser, logUser(username)).
		Str(fieldReason, d.reason).
		Err(d.err).
		Msg(msgRefused)
	if h.observer != nil {
		h.observer.AuthFailed(d.reason)
	}
}

// OnConnectAuthenticate implements mqtt.Hook: true only for a client that
// passed OnConnect, once (the mark is removed on read).
func (h *Hook) OnConnectAuthenticate(cl *mqtt.Client, _ packets.Packet) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.passed[cl]
	delete(h.passed, cl)
	return ok
}

// OnDisconnect implements mqtt.Hook: it drops any mark left for cl.
func (h *Hook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.mu.Lock()
	delete(h.passed, cl)
	h.mu.Unlock()
}

// sweep drops marks of clients whose connection has closed. A mark outlives
// its client only if a hook after this one fails OnConnect (mochi then calls
// neither OnConnectAuthenticate nor OnDisconnect); the set holds only clients
// between OnConnect and OnConnectAuthenticate, so it stays tiny.
func (h *Hook) sweep() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for cl := range h.passed {
		if cl.Closed() {
			delete(h.passed, cl)
		}
	}
}

// pending returns how many clients are marked (tests).
func (h *Hook) pending() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.passed)
}
