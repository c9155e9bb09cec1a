package broker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imqtt/imqtt/cluster"
)

// handshakeCollector exposes the cluster port's authentication counters
// (cluster.Node.HandshakeStats) as
// imqtt_cluster_handshake_failures_total{side="inbound|outbound",reason}: a
// peer that did not prove the cluster secret or TLS identity, or was too slow
// to (cluster/handshake.go lists the reasons).
type handshakeCollector struct {
	node     *cluster.Node
	failures *prometheus.Desc
}

func newHandshakeCollector(n *cluster.Node) *handshakeCollector {
	return &handshakeCollector{node: n, failures: prometheus.NewDesc("imqtt_cluster_handshake_failures_total",
		"Cluster port connections closed because the peer did not prove the cluster secret (or TLS identity) in time, by side and reason.",
		[]string{"side", "reason"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *handshakeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.failures }

// Collect implements prometheus.Collector.
func (c *handshakeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.node.HandshakeStats()
	for _, r := range cluster.HandshakeReasons() {
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(st.InboundFailed[r]), "inbound", r)
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(st.OutboundFailed[r]), "outbound", r)
	}
}
