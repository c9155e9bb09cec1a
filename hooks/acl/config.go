package acl

import (
	"fmt"
	"strings"
)

// Values of Config.SysRead.
const (
	// SysReadAnyone lets every client subscribe to and receive $SYS topics;
	// explicit deny rules still apply.
	SysReadAnyone = "anyone"
	// SysReadRules (the default) grants $SYS reads only through explicit rules
	// (for example `topic read $SYS/#`): `#` and `+` at the first level never
	// match a topic that starts with '$' [MQTT-4.7.2-1].
	SysReadRules = "rules"
	// SysReadNone refuses every $SYS subscription and delivery, whatever the rules.
	SysReadNone = "none"
)

// Values of Config.SubscribeDeny.
const (
	// SubscribeDenyOverlap (the default) refuses a subscription that a deny
	// rule overlaps: one through which a denied topic could be received.
	SubscribeDenyOverlap = "overlap"
	// SubscribeDenyCover (mosquitto's behaviour) refuses a subscription only
	// if a deny rule covers the whole filter; a wider subscription is accepted
	// and the denied topics are filtered out at delivery.
	SubscribeDenyCover = "cover"
)

// Config is the ACL section of the imqttd config file.
type Config struct {
	// File is the path of a mosquitto-style rules file; empty means no file.
	File string `yaml:"file"`
	// Rules are inline rule lines, parsed after the file as a source of their
	// own: they start in the anonymous section, and a `user` element applies to
	// the elements that follow it.
	Rules []string `yaml:"rules"`
	// SysRead says who may read $SYS topics: anyone, rules or none.
	SysRead string `yaml:"sys_read"`
	// SubscribeDeny says when a deny rule refuses a subscription: overlap or
	// cover. Deliveries are checked one by one in both modes.
	SubscribeDeny string `yaml:"subscribe_deny"`
}

// DefaultConfig is deny-all: no rules, $SYS readable only through explicit
// rules, subscriptions refused as soon as a deny rule overlaps them.
func DefaultConfig() Config {
	return Config{SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap}
}

// Validate checks the fields that need no I/O: sys_read, subscribe_deny, and the syntax of the
// inline rules (the file is read by New and Reload). Every error matches
// ErrInvalidConfig; rule syntax errors also match ErrParse and name the element,
// e.g. `rules[2]: unknown access "reed" (want read, write, readwrite, subscribe or deny)`.
func (c Config) Validate() error {
	switch c.SysRead {
	case SysReadAnyone, SysReadRules, SysReadNone:
	default:
		return fmt.Errorf("sys_read: %q: must be %s, %s or %s: %w",
			c.SysRead, SysReadAnyone, SysReadRules, SysReadNone, ErrInvalidConfig)
	}
	switch c.SubscribeDeny {
	case SubscribeDenyOverlap, SubscribeDenyCover:
	default:
		return fmt.Errorf("subscribe_deny: %q: must be %s or %s: %w",
			c.SubscribeDeny, SubscribeDenyOverlap, SubscribeDenyCover, ErrInvalidConfig)
	}
	if strings.ContainsRune(c.File, 0) {
		return fmt.Errorf("file: %q: contains NUL: %w", c.File, ErrInvalidConfig)
	}
	b := newBuilder()
	if err := b.parseInline(c.Rules); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalidConfig)
	}
	return nil
}
