package metrics

import (
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// brokerCollector reads the server's counters at scrape time. It never changes
// the server.
type brokerCollector struct {
	s *mqtt.Server

	subscriptions        *prometheus.Desc
	retained             *prometheus.Desc
	inflight             *prometheus.Desc
	clientsConnected     *prometheus.Desc
	clientsTotal         *prometheus.Desc
	sessionsDisconnected *prometheus.Desc
}

func newBrokerCollector(s *mqtt.Server) *brokerCollector {
	return &brokerCollector{
		s: s,
		subscriptions: prometheus.NewDesc(nameSubscriptions,
			"Subscriptions held by the broker (mochi Info.Subscriptions).", nil, nil),
		retained: prometheus.NewDesc(nameRetainedMessages,
			"Retained messages held by the broker, including the $SYS topics mochi retains.", nil, nil),
		inflight: prometheus.NewDesc(nameInflightMessages,
			"QoS 1/2 messages in flight (mochi Info.Inflight).", nil, nil),
		clientsConnected: prometheus.NewDesc(nameClientsConnected,
			"Clients currently connected (mochi Info.ClientsConnected).", nil, nil),
		clientsTotal: prometheus.NewDesc(nameClientsTotal,
			"Sessions known to the broker, connected or not (excluding the inline client).", nil, nil),
		sessionsDisconnected: prometheus.NewDesc(nameSessionsDisconnected,
			"Persistent sessions whose client is not connected.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *brokerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.subscriptions
	ch <- c.retained
	ch <- c.inflight
	ch <- c.clientsConnected
	ch <- c.clientsTotal
	ch <- c.sessionsDisconnected
}

// Collect implements prometheus.Collector.
func (c *brokerCollector) Collect(ch chan<- prometheus.Metric) {
	info := c.s.Info.Clone()

	total := int64(c.s.Clients.Len())
	if c.s.Options != nil && c.s.Options.InlineClient {
		total-- // mochi.New adds the inline client to Clients
	}
	total = max(total, 0)
	disconnected := max(total-info.ClientsConnected, 0)

	ch <- prometheus.MustNewConstMetric(c.subscriptions, prometheus.GaugeValue, float64(info.Subscriptions))
	ch <- prometheus.MustNewConstMetric(c.retained, prometheus.GaugeValue, float64(c.s.Topics.Retained.Len()))
	ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue, float64(info.Inflight))
	ch <- prometheus.MustNewConstMetric(c.clientsConnected, prometheus.GaugeValue, float64(info.ClientsConnected))
	ch <- prometheus.MustNewConstMetric(c.clientsTotal, prometheus.GaugeValue, float64(total))
	ch <- prometheus.MustNewConstMetric(c.sessionsDisconnected, prometheus.GaugeValue, float64(disconnected))
}
