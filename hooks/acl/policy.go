package acl

// Verdict is what a built-in policy decides. The zero value denies.
type Verdict uint8

const (
	// Deny refuses the access.
	Deny Verdict = iota
	// Allow grants the access.
	Allow
)

// Policy is a built-in rule consulted before the rules file, in order; the first
// policy that decides (decided == true) gives the final answer, which no rule
// overrides. For AccessSubscribe, topic is the filter with any
// "$share/{group}/" prefix removed, already checked to be a valid filter; for
// AccessRead and AccessWrite it is a valid topic name. user is "" for anonymous
// clients.
//
// A Policy runs on every publish and every delivery, concurrently from many
// goroutines: it must be safe for concurrent use, must not block, should not
// allocate, and must not keep the strings it is given beyond the call. It must
// not allow AccessRead of a topic name while denying AccessSubscribe of the same
// string as a literal filter: a subscription that cannot be told from a
// delivery is judged as a delivery, and that must never allow more.
type Policy func(user, clientID, topic string, access Access) (v Verdict, decided bool)

// builtinPolicies returns the built-in policies in the order they are consulted,
// followed by the ones given with WithPolicies. They are not overridable by
// rules. Today: the $SYS policy. The IM namespace policy (the im/ tree,
// DESIGN.md "IM over MQTT") plugs in through WithPolicies, after it.
func builtinPolicies(sysRead string, extra []Policy) []Policy {
	ps := make([]Policy, 0, 1+len(extra))
	ps = append(ps, sysPolicy(sysRead))
	return append(ps, extra...)
}

// sysPolicy denies every publish to $SYS (the tree is read-only: only the broker
// writes there) and, with sys_read none, every $SYS subscription and delivery.
// Otherwise $SYS reads are left to the rules (sys_read rules) or granted by the
// rule stage (sys_read anyone, deny rules still winning).
func sysPolicy(sysRead string) Policy {
	return func(_, _ string, topic string, access Access) (Verdict, bool) {
		if !isSysLevel(firstLevel(topic)) {
			return Deny, false
		}
		if access == AccessWrite || sysRead == SysReadNone {
			return Deny, true
		}
		return Deny, false
	}
}
