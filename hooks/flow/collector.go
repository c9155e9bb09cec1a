package flow

import "github.com/prometheus/client_golang/prometheus"

// Collector exports the hook's counters to Prometheus.
type Collector struct {
	h                              *Hook
	waits, waitSec, marked, slowed *prometheus.Desc
	bytesMax, bytesSlow            *prometheus.Desc
}

// NewCollector returns a collector of h's counters.
func NewCollector(h *Hook) *Collector {
	return &Collector{
		h:       h,
		waits:   prometheus.NewDesc("imqtt_flow_waits_total", "Deliveries that waited for a full subscriber queue to drain (back-pressure on the publisher).", nil, nil),
		waitSec: prometheus.NewDesc("imqtt_flow_wait_seconds_total", "Time deliveries spent waiting for full subscriber queues.", nil, nil),
		marked:  prometheus.NewDesc("imqtt_flow_slow_marked_total", "Times a subscriber's queue stayed full for limits.slow_subscriber_wait and it was marked slow.", nil, nil),
		slowed:  prometheus.NewDesc("imqtt_flow_slow_subscribers", "Subscribers marked slow now (deliveries to them drop while their queue is full).", nil, nil),
		bytesMax: prometheus.NewDesc("imqtt_flow_queued_bytes_max",
			"Largest number of bytes seen queued for one client (the delivery being admitted included); limits.max_queued_bytes bounds it.", nil, nil),
		bytesSlow: prometheus.NewDesc("imqtt_flow_queued_bytes_slow_marked_total",
			"Times a client's queued bytes stayed at limits.max_queued_bytes for limits.slow_subscriber_wait and it was marked slow.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.waits
	ch <- c.waitSec
	ch <- c.marked
	ch <- c.slowed
	ch <- c.bytesMax
	ch <- c.bytesSlow
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.h.Stats()
	ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(s.Waits))
	ch <- prometheus.MustNewConstMetric(c.waitSec, prometheus.CounterValue, s.WaitTime.Seconds())
	ch <- prometheus.MustNewConstMetric(c.marked, prometheus.CounterValue, float64(s.SlowMarked))
	ch <- prometheus.MustNewConstMetric(c.slowed, prometheus.GaugeValue, float64(s.SlowCurrent))
	ch <- prometheus.MustNewConstMetric(c.bytesMax, prometheus.GaugeValue, float64(s.QueuedBytesMax))
	ch <- prometheus.MustNewConstMetric(c.bytesSlow, prometheus.CounterValue, float64(s.QueuedBytesSlow))
}
