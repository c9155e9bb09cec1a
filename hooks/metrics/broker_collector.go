package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imqtt/imqtt/hooks/ext"
)

// brokerCollector reads the broker's sizes at scrape time (Options.Gauges).
// It never changes the broker.
type brokerCollector struct {
	gauges func() ext.Gauges

	subscriptions        *prometheus.Desc
	retained             *prometheus.Desc
	inflight             *prometheus.Desc
	clientsConnected     *prometheus.Desc
	clientsTotal         *prometheus.Desc
	sessionsDisconnected *prometheus.Desc
}

func newBrokerCollector(gauges func() ext.Gauges) *brokerCollector {
	return &brokerCollector{
		gauges: gauges,
		subscriptions: prometheus.NewDesc(nameSubscriptions,
			"Subscriptions held by the broker.", nil, nil),
		retained: prometheus.NewDesc(nameRetainedMessages,
			"Retained messages held by the broker, including the $SYS topics.", nil, nil),
		inflight: prometheus.NewDesc(nameInflightMessages,
			"Outbound QoS 1/2 messages in flight.", nil, nil),
		clientsConnected: prometheus.NewDesc(nameClientsConnected,
			"Clients currently connected.", nil, nil),
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
	g := c.gauges()
	ch <- prometheus.MustNewConstMetric(c.subscriptions, prometheus.GaugeValue, float64(g.Subscriptions))
	ch <- prometheus.MustNewConstMetric(c.retained, prometheus.GaugeValue, float64(g.Retained))
	ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue, float64(g.Inflight))
	ch <- prometheus.MustNewConstMetric(c.clientsConnected, prometheus.GaugeValue, float64(g.ClientsConnected))
	ch <- prometheus.MustNewConstMetric(c.clientsTotal, prometheus.GaugeValue, float64(g.ClientsTotal))
	ch <- prometheus.MustNewConstMetric(c.sessionsDisconnected, prometheus.GaugeValue, float64(g.SessionsDisconnected))
}
