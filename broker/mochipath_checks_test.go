package broker

import (
	"net"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/engine/enginetest"
)

// mochiKnownDeviations lists the enginetest.Spec checks that today's mochi
// path fails, each with the reason. TestMochiPathSpec asserts that each of
// them still fails here (so the list stays true) and that every other Spec
// check passes. tries > 1 marks an intermittent deviation: it must fail at
// least once in that many runs.
var mochiKnownDeviations = map[string]struct {
	why   string
	tries int
}{
	"topic-alias-inbound": {"mochi v2.7.9 accepts topic aliases but leaves Topic Alias Maximum out of CONNACK (SendConnack never sets it); absent means 0, so a strict client may not use them", 1},
}

// mochiIntermittent lists Spec checks that fail on the mochi path only
// sometimes, from a mochi bug the check did not aim at; they are run and
// their outcome logged, not asserted either way here (the engine's run of
// Spec asserts them). Keep this list short and say why.
var mochiIntermittent = map[string]string{
	// mochi keeps inbound and outbound packet ids in one in-flight map: a
	// retained QoS 1 delivery holding id N makes the client's next
	// SUBSCRIBE with id N get SUBACK 0x91 (paho: "packet identifier in use").
	"retained-set-and-clear": "mochi shares one packet-id space for both directions (SUBACK 0x91)",
	"retain-handling":        "mochi shares one packet-id space for both directions (SUBACK 0x91)",
}

// newChecksBroker starts today's broker (the mochi path) for the black-box
// checks: the embedded default (anonymous loopback TCP, readwrite # and read
// $SYS/#) with a 1 s minimum keepalive and $SYS every second, so the
// keepalive and $SYS checks take seconds.
func newChecksBroker(t *testing.T) enginetest.Target {
	t.Helper()
	b := newTestBroker(t, func(c *Config) {
		mochiConfig(c)
		c.Limits.MinKeepalive = time.Second
		c.MQTT.SysInterval = time.Second
	})
	return enginetest.Target{Addr: b.Addr("tcp")}
}

// wrongTodayTries is how many runs a "wrong today" check gets to fail on
// the mochi path.
const wrongTodayTries = 5

// TestMochiPathWrongToday runs issue 17's "wrong today" checks against the
// mochi path: each must fail there (criterion 2); the error says how.
func TestMochiPathWrongToday(t *testing.T) {
	tg := newChecksBroker(t)
	for _, c := range enginetest.WrongToday() {
		t.Run(c.Name, func(t *testing.T) {
			// Some of mochi's faults are races (its QoS 2 window under a
			// small Receive Maximum): the check must fail at least once in
			// wrongTodayTries runs.
			for i := range wrongTodayTries {
				if err := c.Run(tg); err != nil {
					t.Logf("fails on mochi as expected (run %d): %v", i+1, err)
					return
				}
			}
			t.Fatalf("[%s] passed %d times on the mochi path; issue 17 says it is wrong today", c.Rule, wrongTodayTries)
		})
	}
}

// TestMochiPathSpec runs enginetest.Spec against the mochi path: every check
// passes except the known deviations, each of which must fail.
func TestMochiPathSpec(t *testing.T) {
	tg := newChecksBroker(t)
	for _, c := range enginetest.Spec() {
		t.Run(c.Name, func(t *testing.T) {
			if why, ok := mochiIntermittent[c.Name]; ok {
				t.Logf("intermittent on mochi (%s): %v", why, c.Run(tg))
				return
			}
			dev, known := mochiKnownDeviations[c.Name]
			if !known {
				if err := c.Run(tg); err != nil {
					t.Errorf("[%s] %v", c.Rule, err)
				}
				return
			}
			for i := 0; i < max(dev.tries, 1); i++ {
				if err := c.Run(tg); err != nil {
					t.Logf("known mochi deviation (%s), run %d: %v", dev.why, i+1, err)
					return
				}
			}
			t.Fatalf("[%s] known mochi deviation (%s) passed %d times: remove it from mochiKnownDeviations", c.Rule, dev.why, dev.tries)
		})
	}
}

// TestFuzzSessionDriverOnMochi runs the session fuzz driver's seed corpus
// (valid and invalid sequences) against the mochi path, proving the driver
// works end to end; the fuzz target itself belongs to the engine.
func TestFuzzSessionDriverOnMochi(t *testing.T) {
	tg := newChecksBroker(t)
	dial := func() (net.Conn, error) { return net.DialTimeout("tcp", tg.Addr, 5*time.Second) }
	for i, seed := range enginetest.AllSeeds() {
		if err := enginetest.RunSession(dial, seed); err != nil {
			t.Errorf("seed %d % x: %v", i, seed, err)
		}
	}
}
