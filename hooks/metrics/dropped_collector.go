package metrics

import "github.com/prometheus/client_golang/prometheus"

// droppedCollector owns imqtt_messages_dropped_total: the engine's drop
// counts by reason.
type droppedCollector struct {
	m    *Metrics
	desc *prometheus.Desc
}

func newDroppedCollector(m *Metrics) *droppedCollector {
	return &droppedCollector{
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
	for _, r := range []struct {
		reason string
		v      int64
	}{
		{DropClientWritesPending, c.m.dropClientWrites.Load()},
		{DropExpired, c.m.dropExpired.Load()},
		{DropQoSDropped, c.m.dropQoS.Load()},
		{DropQueuedBytes, c.m.dropQueuedBytes.Load()},
		{DropTooLarge, c.m.dropTooLarge.Load()},
		{DropQueueFull, c.m.dropQueueFull.Load()},
		{DropInflightQuota, c.m.dropInflight.Load()},
	} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(r.v), r.reason)
	}
}
