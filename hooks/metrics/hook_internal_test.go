package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/imqtt/imqtt/hooks/ext"
)

func newTestMetrics(t *testing.T) *Metrics {
	t.Helper()
	m, err := New(Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// TestDropCounters checks each engine drop reason lands in its series of
// imqtt_messages_dropped_total, and every series is there from the start.
func TestDropCounters(t *testing.T) {
	m := newTestMetrics(t)
	c := newDroppedCollector(m)
	all := collectByReason(t, c)
	for _, r := range []string{DropClientWritesPending, DropExpired, DropQoSDropped, DropQueuedBytes, DropTooLarge, DropQueueFull, DropInflightQuota} {
		if v, ok := all[r]; !ok || v != 0 {
			t.Errorf("%s = %v (present %v) before any drop, want 0", r, v, ok)
		}
	}
	o := NewEngineObserver(m)
	o.MessageDropped(ext.DropInflightQuota)
	o.MessageDropped(ext.DropTooLarge)
	o.MessageDropped(ext.DropQueueFull)
	o.MessageDropped(ext.DropQueueFull)
	o.MessageDropped(ext.DropSlowSubscriber)
	o.MessageDropped(ext.DropExpired)
	o.MessageDropped(ext.DropQoS0Offline)
	o.MessageDropped(ext.DropQueuedBytes)
	m.QueuedBytesDropped()
	all = collectByReason(t, c)
	want := map[string]float64{
		DropClientWritesPending: 1, DropExpired: 1, DropQoSDropped: 1,
		DropQueuedBytes: 2, DropTooLarge: 1, DropQueueFull: 2, DropInflightQuota: 1,
	}
	if len(all) != len(want) {
		t.Errorf("series = %v, want %v", all, want)
	}
	for r, v := range want {
		if all[r] != v {
			t.Errorf("%s = %v, want %v", r, all[r], v)
		}
	}
}

// TestEngineObserverDoesNotAllocate pins the per-packet paths.
func TestEngineObserverDoesNotAllocate(t *testing.T) {
	o := NewEngineObserver(newTestMetrics(t))
	if n := testing.AllocsPerRun(1000, func() { o.PacketReceived(0x32, 20) }); n != 0 {
		t.Errorf("PacketReceived: %.1f allocations", n)
	}
	if n := testing.AllocsPerRun(1000, func() { o.PacketSent(0x30, 10) }); n != 0 {
		t.Errorf("PacketSent: %.1f allocations", n)
	}
}

// TestEngineObserverPackets checks the engine's packet and session counts
// land in their families.
func TestEngineObserverPackets(t *testing.T) {
	m := newTestMetrics(t)
	o := NewEngineObserver(m)
	c := &ext.Client{ID: "c1", Listener: "tcp"}
	o.ClientConnected(c)
	o.PacketReceived(0x32, 20) // PUBLISH QoS 1
	o.PacketSent(0x30, 10)     // PUBLISH QoS 0
	o.PacketSent(0x40, 4)      // PUBACK
	if got := testutil.ToFloat64(m.listener("tcp").active); got != 1 {
		t.Errorf("active = %v, want 1", got)
	}
	o.ClientDisconnected(c, "normal")
	if got := testutil.ToFloat64(m.listener("tcp").active); got != 0 {
		t.Errorf("active after disconnect = %v, want 0", got)
	}
	if got := testutil.ToFloat64(m.messagesReceived[1]); got != 1 {
		t.Errorf("QoS 1 messages received = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.messagesSent[0]); got != 1 {
		t.Errorf("QoS 0 messages sent = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.bytesSent); got != 14 {
		t.Errorf("bytes sent = %v, want 14", got)
	}
	if got := testutil.ToFloat64(m.packetsSent[4]); got != 1 {
		t.Errorf("PUBACKs sent = %v, want 1", got)
	}
}

// collectByReason collects c and maps each series' reason label to its value.
func collectByReason(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 16)
	c.Collect(ch)
	close(ch)
	out := map[string]float64{}
	for pm := range ch {
		var d dto.Metric
		if err := pm.Write(&d); err != nil {
			t.Fatal(err)
		}
		if len(d.GetLabel()) != 1 || d.GetLabel()[0].GetName() != labelReason {
			t.Fatalf("unexpected labels %v", d.GetLabel())
		}
		out[d.GetLabel()[0].GetValue()] = d.GetCounter().GetValue()
	}
	return out
}
