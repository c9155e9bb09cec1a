package broker

import (
	"net"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/engine/enginetest"
)

// newNativeChecksBroker starts a node for the black-box checks, without
// storage or IM.
func newNativeChecksBroker(t *testing.T) enginetest.Target {
	t.Helper()
	b := newTestBroker(t, func(c *Config) {
		memoryConfig(c)
		c.Limits.MinKeepalive = time.Second
		c.MQTT.SysInterval = time.Second
	})
	return enginetest.Target{Addr: b.Addr("tcp")}
}

// TestNativePathChecks runs issue 17's "wrong today" checks and the Spec
// checks against a whole node on the native engine (auth, ACL and metrics
// through their ext adapters): every one must pass. Each "wrong today" check
// failed on the removed mochi path (docs/CONFORMANCE.md).
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
