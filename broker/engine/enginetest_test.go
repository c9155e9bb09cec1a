package engine

import (
	"net"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/engine/enginetest"
	"github.com/imqtt/imqtt/broker/engine/transport"
)

// newChecksEngine starts the engine as enginetest's contract asks: anonymous,
// allow-all, keepalive granted between 1 s and 60 s.
func newChecksEngine(t *testing.T) enginetest.Target {
	t.Helper()
	te := newTestEngine(t, func(c *Config, _ *transport.Config) {
		c.MinKeepalive = time.Second
		c.SysInterval = time.Second // sys-not-matched-by-hash waits for a live $SYS message
	})
	return enginetest.Target{Addr: te.addr}
}

// TestEngineWrongToday runs issue 17's "wrong today" checks: every one must
// pass on the engine.
func TestEngineWrongToday(t *testing.T) {
	enginetest.RunAll(t, newChecksEngine(t), enginetest.WrongToday())
}

// TestEngineSpec runs enginetest's broader spec checks.
func TestEngineSpec(t *testing.T) {
	enginetest.RunAll(t, newChecksEngine(t), enginetest.Spec())
}

// FuzzEngineSession runs enginetest's session fuzz driver (random valid and
// invalid packet sequences on one real connection, then liveness checks)
// against the engine; newTestEngine's cleanup checks the goroutine count.
func FuzzEngineSession(f *testing.F) {
	te := newTestEngine(f, func(c *Config, _ *transport.Config) { c.MinKeepalive = time.Second })
	// dial first waits until every earlier connection was opened and closed
	// by the engine, so the driver's liveness probe (same client id) cannot
	// overtake the sequence's own CONNECT still unread in its socket.
	var dials int64
	enginetest.FuzzSession(f, func() (net.Conn, error) {
		deadline := time.Now().Add(5 * time.Second)
		for (te.opened.Load() < dials || te.gone.Load() < te.opened.Load()) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		dials++
		return net.Dial("tcp", te.addr)
	})
}

// newDurableChecksEngine is newChecksEngine with a Store: every persistent
// session of the checks is durable.
func newDurableChecksEngine(t *testing.T) enginetest.Target {
	t.Helper()
	te := newStoreEngine(t, newMemStore(), func(c *Config, _ *transport.Config) {
		c.MinKeepalive = time.Second
		c.SysInterval = time.Second
	})
	return enginetest.Target{Addr: te.addr}
}

// TestEngineWrongTodayDurable and TestEngineSpecDurable run the same checks
// with durable sessions.
func TestEngineWrongTodayDurable(t *testing.T) {
	enginetest.RunAll(t, newDurableChecksEngine(t), enginetest.WrongToday())
}

func TestEngineSpecDurable(t *testing.T) {
	enginetest.RunAll(t, newDurableChecksEngine(t), enginetest.Spec())
}

// FuzzEngineSessionDurable is FuzzEngineSession with a Store: persistent
// sessions of the sequences are durable.
func FuzzEngineSessionDurable(f *testing.F) {
	te := newStoreEngine(f, newMemStore(), func(c *Config, _ *transport.Config) { c.MinKeepalive = time.Second })
	var dials int64
	enginetest.FuzzSession(f, func() (net.Conn, error) {
		deadline := time.Now().Add(5 * time.Second)
		for (te.opened.Load() < dials || te.gone.Load() < te.opened.Load()) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		dials++
		return net.Dial("tcp", te.addr)
	})
}
