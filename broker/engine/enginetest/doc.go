// Package enginetest holds black-box MQTT checks for an imqtt broker, in the
// manner of net/http/httptest: a normal package that tests import.
//
// # Contract
//
// A check takes only a Target, the address of a plain TCP MQTT listener
// that admits anonymous clients with an allow-all ACL (readwrite # and read
// $SYS/#, the embedded default of broker.EmbeddedConfig). It opens its own
// connections (raw net.Conn with mochi's packets codec where exact packets
// matter, paho.golang elsewhere), uses unique client ids and topics, closes
// everything before it returns and returns nil or an error saying what it
// observed (wrapping ErrTimeout, ErrUnexpected or ErrClosed). Checks may run
// against one shared broker. Some checks wait for the interval they test
// (session and message expiry of 1 s, will delay, keepalive); they align to
// the start of a wall-clock second so that a broker counting whole seconds is
// caught, and take 2-4 s each.
//
// Assumptions about the broker beyond the listener: it grants the keepalive
// a client asks for between 1 s and 60 s (broker: limits.min_keepalive 1s),
// publishes $SYS topics at least every few seconds, advertises Maximum Packet
// Size and Receive Maximum in CONNACK, and supports retained messages,
// wildcards, shared subscriptions and subscription identifiers.
//
// WrongToday returns issue 17's "wrong today" list; Spec the broader checks;
// RunAll runs a list as subtests. FuzzSession drives random packet sequences
// (see its doc); RunSession plays one sequence and checks liveness, for use in
// normal tests (it ends the sequence with a half-close and waits for the
// broker's EOF before it probes: see its doc). Leak checks (goroutines,
// sessions, memory) are the caller's.
//
// Files: enginetest.go (Target, Check, RunAll), errors.go, raw.go (raw
// client on mochi's codec), paho.go (paho.golang client), wrongtoday.go,
// spec*.go (one file per area: qos, retain, session, v5), fuzz.go.
//
// The table of checks and rules is in docs/CONFORMANCE.md, "Engine checks
// (issue 17)".
package enginetest
