package broker

import (
	"net"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/engine/enginetest"
)

// newNativeChecksBroker starts a node on the native engine for the
// black-box checks, configured as newChecksBroker configures the mochi path.
func newNativeChecksBroker(t *testing.T) enginetest.Target {
	t.Helper()
	b := newTestBroker(t, func(c *Config) {
		nativeConfig(c)
		c.Limits.MinKeepalive = time.Second
		c.MQTT.SysInterval = time.Second
	})
	return enginetest.Target{Addr: b.Addr("tcp")}
}

// TestNativePathChecks runs issue 17's "wrong today" checks and the Spec
// checks against a whole node on the native engine (auth, ACL and metrics
// through their ext adapters): every one must pass (criterion 2 with
// TestMochiPathWrongToday, which shows each failing on the mochi path).
func TestNativePathChecks(t *testing.T) {
	tg := newNativeChecksBroker(t)
	t.Run("wrong-today", func(t *testing.T) { enginetest.RunAll(t, tg, enginetest.WrongToday()) })
	t.Run("spec", func(t *testing.T) { enginetest.RunAll(t, tg, enginetest.Spec()) })
}

// TestFuzzSessionDriverOnNative runs the session fuzz driver's seeds against
// a node on the native engine.
func TestFuzzSessionDriverOnNative(t *testing.T) {
	tg := newNativeChecksBroker(t)
	dial := func() (net.Conn, error) { return net.DialTimeout("tcp", tg.Addr, 5*time.Second) }
	for i, seed := range enginetest.AllSeeds() {
		if err := enginetest.RunSession(dial, seed); err != nil {
			t.Errorf("seed %d % x: %v", i, seed, err)
		}
	}
}
