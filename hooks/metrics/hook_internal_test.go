package metrics

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/imqtt/imqtt/hooks/ext"
)

func TestWireSizeMatchesMochiEncoding(t *testing.T) {
	for _, remaining := range []int{0, 1, 2, 127, 128, 129, 16383, 16384, 16385, 2097151, 2097152, 268435455} {
		var buf bytes.Buffer
		fh := packets.FixedHeader{Type: packets.Publish, Remaining: remaining}
		fh.Encode(&buf)
		if got, want := wireSize(remaining), buf.Len()+remaining; got != want {
			t.Errorf("wireSize(%d) = %d, want %d", remaining, got, want)
		}
	}
	if got := wireSize(-1); got != 2 {
		t.Errorf("wireSize(-1) = %d, want 2", got)
	}
}

func TestProvidesExactlyItsEvents(t *testing.T) {
	want := map[byte]bool{
		mqtt.OnSessionEstablished: true,
		mqtt.OnDisconnect:         true,
		mqtt.OnPacketRead:         true,
		mqtt.OnPacketSent:         true,
		mqtt.OnPublishDropped:     true,
		mqtt.OnQosDropped:         true,
		mqtt.OnPacketIDExhausted:  true,
	}
	h := NewHook(nil)
	for b := 0; b < 256; b++ {
		if got := h.Provides(byte(b)); got != want[byte(b)] {
			t.Errorf("Provides(%d) = %v, want %v", b, got, want[byte(b)])
		}
	}
	// The security invariant of package hooks.
	if h.Provides(mqtt.OnConnectAuthenticate) || h.Provides(mqtt.OnACLCheck) {
		t.Fatal("metrics hook provides an auth or ACL decision")
	}
}

func TestHookInit(t *testing.T) {
	if err := NewHook(nil).Init(nil); !errors.Is(err, ErrNilMetrics) {
		t.Errorf("Init with nil metrics = %v, want ErrNilMetrics", err)
	}
	m := newTestMetrics(t, nil)
	if err := NewHook(m).Init(map[string]any{"x": 1}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Init with a config = %v, want ErrInvalidConfig", err)
	}
	if err := NewHook(m).Init(nil); err != nil {
		t.Errorf("Init = %v", err)
	}
	if got := NewHook(m).ID(); got != HookID {
		t.Errorf("ID = %q", got)
	}
}

func newTestMetrics(t *testing.T, s *mqtt.Server) *Metrics {
	t.Helper()
	m, err := New(Options{Server: s})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func TestOnQosDroppedClassification(t *testing.T) {
	now := time.Now().Unix()
	tests := []struct {
		name        string
		pk          packets.Packet
		expired, qs int64
	}{
		{"bare id from the expiry sweep is skipped", packets.Packet{PacketID: 7}, 0, 0},
		{"publish past its expiry", packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, Created: now - 10, Expiry: now - 5}, 1, 0},
		{"publish not yet expired", packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, Created: now, Expiry: now + 3600}, 0, 1},
		{"publish without expiry", packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 2}, Created: now - 10}, 0, 1},
		{"ack with max expiry 0 (Expiry == Created)", packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrec}, Created: now - 10, Expiry: now - 10}, 0, 1},
		{"inbound PUBREC with a failure code", packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrec}, ReasonCode: 0x80}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMetrics(t, nil)
			NewHook(m).OnQosDropped(nil, tc.pk)
			if got := m.dropExpired.Load(); got != tc.expired {
				t.Errorf("expired = %d, want %d", got, tc.expired)
			}
			if got := m.dropQoS.Load(); got != tc.qs {
				t.Errorf("qos_dropped = %d, want %d", got, tc.qs)
			}
		})
	}
}

func TestDropCounters(t *testing.T) {
	srv := newUnservedServer(t)
	m := newTestMetrics(t, srv)
	h := NewHook(m)
	h.OnPublishDropped(nil, packets.Packet{})
	h.OnPublishDropped(nil, packets.Packet{})
	h.OnPacketIDExhausted(nil, packets.Packet{})

	// mochi: 3 inflight drops, 1 of which was an exhaustion -> 2 quota drops.
	srv.Info.InflightDropped = 3
	c := newDroppedCollector(srv, m)
	want := func(reason string, v float64) {
		t.Helper()
		all := collectByReason(t, c)
		if got, ok := all[reason]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v; all: %v", reason, got, ok, v, all)
		}
	}
	want(DropClientWritesPending, 2)
	want(DropPacketIDsExhausted, 1)
	want(DropInflightQuota, 2)
	want(DropExpired, 0)
	want(DropQoSDropped, 0)
	m.QueuedBytesDropped()
	want(DropQueuedBytes, 1)

	// A transiently smaller difference never makes the counter go down.
	srv.Info.InflightDropped = 1
	want(DropInflightQuota, 2)
	srv.Info.InflightDropped = 6
	want(DropInflightQuota, 5)

	// Without a server (the engine) inflight_quota is the engine's own count,
	// and the engine's reasons are there too.
	o := NewEngineObserver(m)
	o.MessageDropped(ext.DropInflightQuota)
	o.MessageDropped(ext.DropTooLarge)
	o.MessageDropped(ext.DropQueueFull)
	o.MessageDropped(ext.DropQueueFull)
	o.MessageDropped(ext.DropSlowSubscriber)
	all := collectByReason(t, newDroppedCollector(nil, m))
	wantAll := map[string]float64{
		DropClientWritesPending: 3, DropPacketIDsExhausted: 1, DropExpired: 0, DropQoSDropped: 0,
		DropQueuedBytes: 1, DropTooLarge: 1, DropQueueFull: 2, DropInflightQuota: 1,
	}
	if len(all) != len(wantAll) {
		t.Errorf("series without server = %v, want %v", all, wantAll)
	}
	for r, v := range wantAll {
		if all[r] != v {
			t.Errorf("without server: %s = %v, want %v", r, all[r], v)
		}
	}
}

// TestEngineObserverPackets checks the engine's packet and session counts land
// in the same families as the mochi hook's.
func TestEngineObserverPackets(t *testing.T) {
	m := newTestMetrics(t, nil)
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

func TestSessionsCountedOnce(t *testing.T) {
	srv := newUnservedServer(t)
	m := newTestMetrics(t, srv)
	h := NewHook(m)
	a := srv.NewClient(nil, "t1", "a", false)
	restored := srv.NewClient(nil, "t1", "restored", false)

	h.OnSessionEstablished(a, packets.Packet{})
	h.OnSessionEstablished(a, packets.Packet{}) // never counted twice
	active := m.listener("t1").active
	if got := value(t, active); got != 1 {
		t.Fatalf("active = %v, want 1", got)
	}
	// mochi calls OnDisconnect for sessions restored from storage, never established.
	h.OnDisconnect(restored, packets.ErrServerShuttingDown, false)
	if got := value(t, active); got != 1 {
		t.Fatalf("active after a restored session's disconnect = %v, want 1", got)
	}
	h.OnDisconnect(a, nil, true)
	h.OnDisconnect(a, nil, true) // a second call changes nothing
	if got := value(t, active); got != 0 {
		t.Fatalf("active = %v, want 0", got)
	}
	if got := value(t, m.listener("t1").established); got != 1 {
		t.Fatalf("established = %v, want 1", got)
	}
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	m := newTestMetrics(t, nil)
	h := NewHook(m)
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1, Remaining: 300}}
	b := make([]byte, 302)
	if n := testing.AllocsPerRun(1000, func() { h.OnPacketSent(nil, pk, b) }); n != 0 {
		t.Errorf("OnPacketSent allocates %v times per call", n)
	}
	if n := testing.AllocsPerRun(1000, func() { _, _ = h.OnPacketRead(nil, pk) }); n != 0 {
		t.Errorf("OnPacketRead allocates %v times per call", n)
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

// value reads a counter or gauge.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Counter != nil {
		return d.GetCounter().GetValue()
	}
	return d.GetGauge().GetValue()
}

// newUnservedServer is a real mochi server that is never served: its Info and
// NewClient are all these tests need.
func newUnservedServer(t *testing.T) *mqtt.Server {
	t.Helper()
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}
