package metrics

import (
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// droppedCollector owns imqtt_messages_dropped_total: the hook's counts by reason,
// plus inflight_quota derived from the server at scrape time (only with a server).
type droppedCollector struct {
	s    *mqtt.Server // may be nil
	m    *Metrics
	desc *prometheus.Desc

	// inflightQuota is the largest inflight_quota value reported so far, which
	// keeps the derived counter monotonic (see inflightQuotaValue).
	inflightQuota atomic.Int64
}

func newDroppedCollector(s *mqtt.Server, m *Metrics) *droppedCollector {
	return &droppedCollector{
		s: s,
		m: m,
		desc: prometheus.NewDesc(nameMessagesDropped,
			"Messages dropped before reaching a subscriber, by reason.", []string{labelReason}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *droppedCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
}

// Collect implements prometheus.Collector.
func (c *droppedCollector) Collect(ch chan<- prometheus.Metric) {
	// Read the server's count before the hook's: see inflightQuotaValue.
	var inflightDropped int64
	if c.s != nil {
		inflightDropped = atomic.LoadInt64(&c.s.Info.InflightDropped)
	}
	exhausted := c.m.dropPacketIDsExhausted.Load()
	for _, r := range []struct {
		reason string
		v      int64
	}{
		{DropClientWritesPending, c.m.dropClientWrites.Load()},
		{DropPacketIDsExhausted, exhausted},
		{DropExpired, c.m.dropExpired.Load()},
		{DropQoSDropped, c.m.dropQoS.Load()},
		{DropQueuedBytes, c.m.dropQueuedBytes.Load()},
		{DropTooLarge, c.m.dropTooLarge.Load()},
		{DropQueueFull, c.m.dropQueueFull.Load()},
	} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(r.v), r.reason)
	}
	if c.s == nil {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue,
			float64(c.m.dropInflight.Load()), DropInflightQuota)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue,
		float64(c.inflightQuotaValue(inflightDropped, exhausted)), DropInflightQuota)
}

// inflightQuotaValue derives the inflight_quota count from mochi's
// Info.InflightDropped (quota drops plus packet-id exhaustions; mochi has a hook
// only for the latter) minus the exhaustions the hook counted.
//
// mochi calls OnPacketIDExhausted before it increments InflightDropped, and
// inflightDropped was read before exhausted, so every exhaustion inside
// inflightDropped is inside exhausted too: the difference never exceeds the true
// quota count, it can only fall short transiently. Reporting the running maximum
// keeps the counter monotonic. Without the hook on the server, exhaustions are
// counted here as well.
func (c *droppedCollector) inflightQuotaValue(inflightDropped, exhausted int64) int64 {
	q := max(inflightDropped-exhausted, 0)
	for {
		seen := c.inflightQuota.Load()
		if q <= seen {
			return seen
		}
		if c.inflightQuota.CompareAndSwap(seen, q) {
			return q
		}
	}
}
