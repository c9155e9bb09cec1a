package broker

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestClusterHandshakeMetrics: a client on the cluster port that never
// authenticates is closed after cluster.handshake_timeout and counted in
// /metrics, as a handshake failure and as a limit refusal.
func TestClusterHandshakeMetrics(t *testing.T) {
	b := newTestBroker(t, func(c *Config) { c.Cluster.HandshakeTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", b.node.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("the node sent %d bytes to a client that said nothing", n)
	}
	want := map[string]string{
		"imqtt_cluster_handshake_failures_total": `imqtt_cluster_handshake_failures_total{reason="timeout",side="inbound"} 1`,
		"imqtt_limit_refusals_total":             `imqtt_limit_refusals_total{limit="cluster.handshake_timeout"} 1`,
	}
	for family, line := range want {
		if got := scrape(t, b, family); !strings.Contains(got, line) {
			t.Fatalf("/metrics lacks %s:\n%s", line, got)
		}
	}
}
