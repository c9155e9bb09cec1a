package engine

import (
	"runtime"
	"strconv"
	"time"
)

// The $SYS topics: every Config.SysInterval the engine publishes its
// counters as retained messages under $SYS/broker/, the names mochi and
// mosquitto use (docs/operations.md). A subscriber to $SYS/# gets the last
// values at once (retained) and every refresh live. "#" and "+" never match
// them [MQTT-4.7.2-1]; who may read them is the Authorizer's
// ext.AccessDeliver (acl.sys_read).

// sysPrefix is the root of the engine's $SYS topics.
const sysPrefix = "$SYS/broker/"

// sysLoop is the engine's $SYS goroutine: New starts it when SysInterval > 0,
// Close stops it (e.done), e.wg waits for it. It publishes once at start.
func (e *Engine) sysLoop() {
	defer e.wg.Done()
	tick := time.NewTicker(e.cfg.SysInterval)
	defer tick.Stop()
	for {
		e.publishSys()
		select {
		case <-e.done:
			return
		case <-tick.C:
		}
	}
}

// sysValue is one $SYS topic (below sysPrefix) and its payload.
type sysValue struct {
	topic string
	value string
}

// sysValues returns the current $SYS values, in a fixed order.
func (e *Engine) sysValues() []sysValue {
	t := now().Unix()
	e.mu.Lock()
	total := int64(len(e.sessions))
	e.mu.Unlock()
	subs, retained := e.topics.counts()
	connected := e.st.connected.Load()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	return []sysValue{
		{"version", e.cfg.Version},
		{"time", i(t)},
		{"started", i(e.st.started)},
		{"uptime", i(t - e.st.started)},
		{"clients/connected", i(connected)},
		{"clients/disconnected", i(max(total-connected, 0))},
		{"clients/maximum", i(e.st.maxConn.Load())},
		{"clients/total", i(total)},
		{"load/bytes/received", i(e.st.bytesIn.Load())},
		{"load/bytes/sent", i(e.st.bytesOut.Load())},
		{"packets/received", i(e.st.pktIn.Load())},
		{"packets/sent", i(e.st.pktOut.Load())},
		{"messages/received", i(e.st.msgIn.Load())},
		{"messages/sent", i(e.st.msgOut.Load())},
		{"messages/dropped", i(e.st.dropped.Load())},
		{"retained", i(int64(retained))},
		{"subscriptions", i(int64(subs))},
		{"system/memory", i(int64(ms.HeapInuse))},
		{"system/threads", i(int64(runtime.NumGoroutine()))},
	}
}

// publishSys publishes every $SYS value, retained, QoS 0.
func (e *Engine) publishSys() {
	for _, v := range e.sysValues() {
		if err := e.Publish(sysPrefix+v.topic, []byte(v.value), 0, true); err != nil {
			return // closed
		}
	}
}
