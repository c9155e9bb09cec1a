package enginetest

import (
	"testing"
)

// Target is the broker under test, seen from outside.
type Target struct {
	// Addr is host:port of a plain TCP MQTT listener that admits anonymous
	// clients with an allow-all ACL (publish and subscribe anywhere outside
	// $SYS, read $SYS).
	Addr string
}

// Check is one black-box behaviour of a broker.
type Check struct {
	// Name is unique within WrongToday() + Spec(), lower case with dashes.
	Name string
	// Rule cites the specification: "MQTT-3.1.3-10", "5.0 3.3.2.3.4", ...
	Rule string
	// Run exercises tg and returns nil if the broker behaved as the rule says,
	// or an error that says what was observed instead. Run cleans up every
	// connection it opened before it returns; it may run concurrently with
	// other checks against the same Target (ids and topics are unique).
	Run func(tg Target) error
}

// RunAll runs each check as a subtest of t (t.Run(check.Name)) and reports a
// non-nil result with t.Error. Checks run one after the other.
func RunAll(t *testing.T, tg Target, checks []Check) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.Name, func(t *testing.T) {
			if err := c.Run(tg); err != nil {
				t.Errorf("[%s] %v", c.Rule, err)
			}
		})
	}
}

// All returns WrongToday() followed by Spec().
func All() []Check {
	return append(WrongToday(), Spec()...)
}
