package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Options carries the collaborators of the hook.
type Options struct {
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
	// Users is the replicated user store (nil: none); see doc.go "User
	// store" for which source wins.
	Users UserStore
	// Tokens verifies the tokens this cluster mints (tokens.Service); nil
	// when tokens are off. A password tokens.Owns claims is judged by it
	// alone.
	Tokens Minted
}

// Hook decides authentication: it is the engine's ext.Authenticator
// (authenticator.go). Create it with New, call Reload on SIGHUP and Close
// after the engine. See the package documentation.
type Hook struct {
	cfg       Config
	log       zerolog.Logger
	willCheck func(user, clientID, topic string) bool
	loopback  func(string) bool
	observer  Observer
	limits    LimitObserver
	users     UserStore  // nil without a user store
	dummy     *dummyHash // shared by every key generation
	minted    Minted

	throttle    *throttle      // nil when auth.throttle.enabled is false
	throttleLog zerolog.Logger // log sampled to one line per throttleWarnEvery

	keys     atomic.Pointer[keys] // current credential generation
	reloadMu sync.Mutex           // serialises Reload
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
		log:       opts.Log.With().Str(logfield.Component, component).Logger(),
		willCheck: opts.WillCheck,
		loopback:  opts.LoopbackListener,
		observer:  opts.Observer,
		limits:    opts.Limits,
		users:     opts.Users,
		dummy:     &dummyHash{cost: cfg.BcryptCost},
		minted:    opts.Tokens,
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
	if !cfg.hasAuthMethod() && opts.Users == nil && opts.Tokens == nil {
		h.log.Warn().Msg(msgNoAuthMethod)
	}
	return h, nil
}

// load reads every configured file into a new key generation.
func (h *Hook) load() (*keys, error) {
	k := &keys{users: h.users, dummy: h.dummy, minted: h.minted}
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
	ev := h.log.Info().Bool(logfield.Anonymous, h.cfg.AllowAnonymous).Stringer(logfield.Throttle, h.cfg.Throttle)
	if k.passwords != nil {
		ev = ev.Str(logfield.File, k.passwords.Path()).Int(logfield.Users, k.passwords.Len())
	}
	if k.jwt != nil {
		ev = ev.Object(logfield.JWT, k.jwt)
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

// Close refuses the attempts waiting in the login throttle; it is
// idempotent. The hook owns no goroutine and keeps answering after Close.
func (h *Hook) Close() error {
	if h.throttle != nil {
		h.throttle.stop()
	}
	return nil
}

// judge decides one CONNECT: login throttling (may wait, until ctx ends),
// the decision table of doc.go, then the will topic's ACL check.
func (h *Hook) judge(ctx context.Context, c credentials, clientID string, will bool, willTopic string) decision {
	k := h.keys.Load()
	att, ok := h.gate(ctx, k, c) // may wait (login throttling)
	if !ok {
		return throttled()
	}
	d := k.decide(c, h.cfg.AllowAnonymous, h.loopback)
	finishAttempt(att, d)
	d = k.refuseDisabled(d)
	if d.reason == "" && will && !h.willCheck(d.identity, clientID, willTopic) {
		d = refuse(ReasonWillDenied, packets.ErrNotAuthorized, errors.New("will topic refused by acl"))
	}
	return d
}

// refused logs and counts a refused CONNECT.
func (h *Hook) refused(clientID, remote, listener, username string, d decision) {
	ev := h.log.Warn()
	if d.reason == ReasonThrottled {
		ev = h.log.Debug() // a flood: gate logs a rate-limited warning
	}
	ev.
		Str(logfield.ClientID, clientID).
		Str(logfield.Remote, remote).
		Str(logfield.Listener, listener).
		Str(logfield.User, logUser(username)).
		Str(logfield.Reason, d.reason).
		Err(d.err).
		Msg(msgRefused)
	if h.observer != nil {
		h.observer.AuthFailed(d.reason)
	}
}
