package acl

import (
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// component is the value of the component field (logfield.Component) on this package's log events.
const component = "acl"

// Observer is told about every denial (for metrics). access is "read", "write"
// or "subscribe". It is called from many goroutines and must not block.
type Observer interface {
	ACLDenied(access string)
}

// Option configures New.
type Option func(*options)

type options struct {
	policies []Policy
}

// WithPolicies appends built-in policies, consulted in order after the $SYS
// policy and before the rules (see Policy). This is where the IM namespace
// policy plugs in.
func WithPolicies(p ...Policy) Option {
	return func(o *options) { o.policies = append(o.policies, p...) }
}

// Hook decides every access of the broker: it is the engine's
// ext.Authorizer (authorizer.go), and hooks/auth asks it about a will topic
// (CanWriteWill).
type Hook struct {
	cfg      Config
	log      zerolog.Logger
	obs      Observer
	policies []Policy

	rules    atomic.Pointer[Rules]
	reloadMu sync.Mutex // serialises Reload
}

// New validates cfg, compiles the rules (reading cfg.File) and returns the hook.
// obs may be nil (an untyped nil: no metrics). Errors match ErrInvalidConfig,
// ErrParse or ErrReadFile. The broker wires it as
//
//	h, err := acl.New(cfg.ACL, log, metrics)
//	engine.Options{ACL: h, ...}
//	auth.Options{WillCheck: h.CanWriteWill, ...}
//	h.Reload() // on SIGHUP; on error the previous rules stay in force
func New(cfg Config, log zerolog.Logger, obs Observer, opts ...Option) (*Hook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg.Rules = append([]string(nil), cfg.Rules...)
	h := &Hook{
		cfg:      cfg,
		log:      log.With().Str(logfield.Component, component).Logger(),
		obs:      obs,
		policies: o.policies,
	}
	r, err := Compile(cfg, h.policies...)
	if err != nil {
		return nil, err
	}
	h.rules.Store(r)
	h.log.Debug().Str(logfield.File, cfg.File).Int(logfield.Rules, r.Len()).Msg("acl rules loaded")
	return h, nil
}

// Reload re-reads the rules file and the inline rules. On error the previous
// rules stay in force and the error (file and line for a syntax error) is
// returned; the caller logs it. Safe to call concurrently with checks.
func (h *Hook) Reload() error {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	r, err := Compile(h.cfg, h.policies...)
	if err != nil {
		return err
	}
	h.rules.Store(r)
	h.log.Debug().Str(logfield.File, h.cfg.File).Int(logfield.Rules, r.Len()).Msg("acl rules loaded")
	return nil
}

// Check decides one access with the current rules (see Rules.Check). Denials
// are logged and counted.
func (h *Hook) Check(user, clientID, topic string, access Access) bool {
	ok, why := h.rules.Load().check(user, clientID, topic, access)
	if !ok {
		h.denied(clientID, user, topic, access, why)
	}
	return ok
}

// CanWriteWill reports whether the client may have a will on topic: the same
// decision as a publish. hooks/auth calls it before the CONNACK.
func (h *Hook) CanWriteWill(user, clientID, topic string) bool {
	return h.Check(user, clientID, topic, AccessWrite)
}

// denied logs (debug: denials can be frequent) and counts a denial. Never the
// payload: the hook does not see it.
func (h *Hook) denied(clientID, user, topic string, access Access, why reason) {
	if h.obs != nil {
		h.obs.ACLDenied(access.String())
	}
	h.log.Debug().Str(logfield.ClientID, clientID).Str(logfield.User, user).Str(logfield.Topic, topic).
		Str(logfield.Access, access.String()).Str(logfield.Reason, why.String()).Msg("acl denied")
}
