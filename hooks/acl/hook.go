package acl

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/internal/mqtttopic"
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

// Hook is the mochi hook that decides every ACL check of the broker. It must be
// the only hook that provides OnACLCheck (hooks/doc.go).
type Hook struct {
	mqtt.HookBase
	cfg      Config
	log      zerolog.Logger
	obs      Observer
	policies []Policy

	rules    atomic.Pointer[Rules]
	reloadMu sync.Mutex // serialises Reload
	pending  pending
}

// New validates cfg, compiles the rules (reading cfg.File) and returns the hook.
// obs may be nil (an untyped nil: no metrics). Errors match ErrInvalidConfig,
// ErrParse or ErrReadFile. The broker wires it as
//
//	h, err := acl.New(cfg.ACL, log, metrics)
//	server.AddHook(h, nil)
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

// ID names the hook.
func (h *Hook) ID() string { return "imqtt-acl" }

// Provides lists exactly the events the hook handles.
func (h *Hook) Provides(b byte) bool {
	switch b {
	case mqtt.OnACLCheck, mqtt.OnSubscribe, mqtt.OnSubscribed, mqtt.OnDisconnect:
		return true
	}
	return false
}

// Init accepts no runtime config: the config is given to New.
func (h *Hook) Init(config any) error {
	if config != nil {
		return fmt.Errorf("acl hook takes its config in New, not Init: %w", ErrInvalidConfig)
	}
	return nil
}

// Stop forgets the pending SUBSCRIBE records. It is idempotent; the hook keeps
// answering checks with the current rules (it owns no goroutine).
func (h *Hook) Stop() error {
	h.pending.clear()
	return nil
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
// are logged and counted like the hook's own.
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

// OnACLCheck decides a publish (write), a subscription or a delivery (both
// write == false; see pending for how they are told apart).
func (h *Hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	access := AccessRead
	switch {
	case write:
		access = AccessWrite
	case hasWildcard(topic) || strings.HasPrefix(topic, mqtttopic.SharePrefix):
		access = AccessSubscribe // a topic name has neither
	case h.pending.take(cl, topic):
		access = AccessSubscribe
	}
	return h.Check(username(cl), cl.ID, topic, access)
}

// OnSubscribe records the literal filters of the SUBSCRIBE that mochi is about
// to check, so that OnACLCheck judges them as subscriptions. It never changes pk.
func (h *Hook) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if cl == nil || cl.Net.Inline {
		return pk
	}
	var lits []string
	for _, sub := range pk.Filters {
		if sub.Filter != "" && !hasWildcard(sub.Filter) && !strings.HasPrefix(sub.Filter, mqtttopic.SharePrefix) {
			lits = append(lits, sub.Filter)
		}
	}
	h.pending.open(cl, lits)
	return pk
}

// OnSubscribed drops what is left of the client's SUBSCRIBE record.
func (h *Hook) OnSubscribed(cl *mqtt.Client, _ packets.Packet, _ []byte) {
	h.pending.close(cl)
}

// OnDisconnect drops the client's SUBSCRIBE record, if any.
func (h *Hook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.pending.close(cl)
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

// username returns the authenticated identity hooks/auth stored in the client
// ("" for anonymous) without copying: hooks/auth assigns Username once, before
// the CONNACK, and nothing writes to those bytes afterwards.
func username(cl *mqtt.Client) string {
	b := cl.Properties.Username
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
