package acl

import "github.com/imqtt/imqtt/internal/mqtttopic"

// Rules is a compiled, immutable ACL: the parsed rules plus the built-in
// policies and the $SYS read mode. It is safe for concurrent use. Build one with
// Compile; the Hook swaps a new one in on Reload.
type Rules struct {
	anon      ruleSet             // `topic` lines before any `user` line
	users     map[string]*ruleSet // `topic` lines after `user <name>`
	patterns  ruleSet             // `pattern` lines: every client
	sysRead   string
	denyCover bool // SubscribeDenyCover: a deny refuses only filters it covers
	policies  []Policy
	n         int
}

// Len returns the number of rule lines compiled.
func (r *Rules) Len() int { return r.n }

// reason says why a check ended; it is logged with denials.
type reason uint8

const (
	reasonAllowed     reason = iota
	reasonPolicy             // a built-in policy decided
	reasonNoRule             // default deny: no rule grants it
	reasonDenyRule           // an explicit deny rule matches (or overlaps)
	reasonInvalid            // not a valid topic name / filter
	reasonBadShare           // malformed $share/{group}/{filter}
	reasonUnknownKind        // not one of the three access kinds
)

func (r reason) String() string {
	switch r {
	case reasonAllowed:
		return "allowed"
	case reasonPolicy:
		return "builtin_policy"
	case reasonNoRule:
		return "no_matching_rule"
	case reasonDenyRule:
		return "deny_rule"
	case reasonInvalid:
		return "invalid_topic"
	case reasonBadShare:
		return "malformed_shared_subscription"
	}
	return "unknown_access"
}

// Check reports whether the client (user "" when anonymous) may have the access
// to topic: a topic name for AccessRead and AccessWrite, a topic filter
// (possibly "$share/{group}/{filter}") for AccessSubscribe. It does not allocate
// for rules without placeholders.
func (r *Rules) Check(user, clientID, topic string, access Access) bool {
	ok, _ := r.check(user, clientID, topic, access)
	return ok
}

func (r *Rules) check(user, clientID, topic string, access Access) (bool, reason) {
	switch access {
	case AccessRead, AccessWrite:
		return r.checkTopic(user, clientID, topic, access)
	case AccessSubscribe:
		return r.checkSubscribe(user, clientID, topic)
	}
	return false, reasonUnknownKind
}

// section returns the rule set that applies to the user besides the patterns:
// the anonymous section, or the user's own (nil if the file has none).
func (r *Rules) section(user string) *ruleSet {
	if user == "" {
		return &r.anon
	}
	return r.users[user]
}

// decide asks the built-in policies in order; the first that decides wins.
func (r *Rules) decide(user, clientID, topic string, access Access) (Verdict, bool) {
	for _, p := range r.policies {
		if v, ok := p(user, clientID, topic, access); ok {
			return v, true
		}
	}
	return Deny, false
}

// checkTopic decides a publish or a delivery of topic name t.
func (r *Rules) checkTopic(user, clientID, t string, access Access) (bool, reason) {
	if !validTopicName(t) {
		return false, reasonInvalid
	}
	if v, ok := r.decide(user, clientID, t, access); ok {
		return v == Allow, reasonPolicy
	}
	s := newSubject(user, clientID)
	l0 := firstLevel(t)
	sec := r.section(user)
	slot := access.slot()
	granted := access == AccessRead && r.sysRead == SysReadAnyone && isSysLevel(l0) ||
		sec != nil && sec.allow[slot].anyMatch(t, l0, &s) ||
		r.patterns.allow[slot].anyMatch(t, l0, &s)
	if !granted {
		return false, reasonNoRule
	}
	if sec != nil && sec.deny.anyMatch(t, l0, &s) || r.patterns.deny.anyMatch(t, l0, &s) {
		return false, reasonDenyRule
	}
	return true, reasonAllowed
}

// checkSubscribe decides a SUBSCRIBE to filter f, unwrapping shared subscriptions.
func (r *Rules) checkSubscribe(user, clientID, f string) (bool, reason) {
	if _, inner, ok, err := mqtttopic.ParseShared(f); ok {
		if err != nil {
			return false, reasonBadShare
		}
		return r.checkFilter(user, clientID, inner)
	}
	if mqtttopic.IsShareCaseVariant(f) {
		// "$SHARE/g/x" is the literal filter it is [MQTT-4.8.2-1]: judge it so.
		// mochi v2.7.9 matches the share prefix case-insensitively and would
		// subscribe the group to the inner filter, so that must pass too.
		if ok, why := r.checkFilter(user, clientID, f); !ok {
			return false, why
		}
		_, inner, _, err := mqtttopic.ParseSharedAnyCase(f)
		if err != nil {
			return false, reasonBadShare // mochi would take it for a malformed share
		}
		return r.checkFilter(user, clientID, inner)
	}
	return r.checkFilter(user, clientID, f)
}

// checkFilter decides a subscription to plain filter f: some allow rule with the
// subscribe bit covers f, and no deny rule overlaps it (covers it, with
// SubscribeDenyCover).
func (r *Rules) checkFilter(user, clientID, f string) (bool, reason) {
	if !validFilter(f) {
		return false, reasonInvalid
	}
	if v, ok := r.decide(user, clientID, f, AccessSubscribe); ok {
		return v == Allow, reasonPolicy
	}
	s := newSubject(user, clientID)
	l0 := firstLevel(f)
	sec := r.section(user)
	slot := AccessSubscribe.slot()
	granted := r.sysRead == SysReadAnyone && isSysLevel(l0) ||
		sec != nil && sec.allow[slot].anyCover(f, l0, &s) ||
		r.patterns.allow[slot].anyCover(f, l0, &s)
	if !granted {
		return false, reasonNoRule
	}
	if r.denyCover {
		if sec != nil && sec.deny.anyCover(f, l0, &s) || r.patterns.deny.anyCover(f, l0, &s) {
			return false, reasonDenyRule
		}
		return true, reasonAllowed
	}
	if sec != nil && sec.deny.anyOverlap(f, l0, &s) || r.patterns.deny.anyOverlap(f, l0, &s) {
		return false, reasonDenyRule
	}
	return true, reasonAllowed
}
