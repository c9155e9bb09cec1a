package metrics_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/hooks/metrics"
)

// TestNamesMatchScrape checks Names against what a scrape really exposes once
// every family has a series: no family missing from Names, no name in Names that
// never shows up.
func TestNamesMatchScrape(t *testing.T) {
	b := newTestBroker(t)
	m := b.m
	m.Accepted(listenerID)
	m.AcceptError(listenerID, nil)
	m.Rejected(listenerID, "max_connections")
	m.Panic(listenerID)
	m.AuthFailed("bad_password")
	m.ACLDenied("publish")
	m.LimitRefused("max_subscriptions_per_client")
	metrics.NewEngineObserver(m).ClientConnected(&ext.Client{ID: "names", Listener: listenerID})

	names := m.Names()
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Fatalf("Names() not sorted and unique: %v", names)
	}
	scraped := b.scrape(t)
	for _, n := range names {
		if _, ok := scraped[n]; !ok {
			t.Errorf("Names() lists %s, which /metrics does not expose", n)
		}
	}
	for n := range scraped {
		if !slices.Contains(names, n) {
			t.Errorf("/metrics exposes %s, which Names() does not list", n)
		}
	}

	// The families the operations docs and dashboards rely on.
	for _, n := range []string{
		"imqtt_connections_active", "imqtt_connections_total", "imqtt_connections_rejected_total",
		"imqtt_accept_errors_total", "imqtt_panics_recovered_total",
		"imqtt_packets_received_total", "imqtt_packets_sent_total",
		"imqtt_bytes_received_total", "imqtt_bytes_sent_total",
		"imqtt_messages_received_total", "imqtt_messages_sent_total", "imqtt_messages_dropped_total",
		"imqtt_auth_failures_total", "imqtt_acl_denied_total", "imqtt_limit_refusals_total",
		"imqtt_subscriptions", "imqtt_retained_messages", "imqtt_inflight_messages",
		"imqtt_clients_connected", "imqtt_clients_total", "imqtt_sessions_disconnected",
		"go_goroutines", "process_cpu_seconds_total",
	} {
		if !slices.Contains(names, n) {
			t.Errorf("Names() lacks %s", n)
		}
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "imqtt_") && !strings.HasPrefix(n, "go_") && !strings.HasPrefix(n, "process_") {
			t.Errorf("unexpected family %s", n)
		}
	}
}

func TestNamesWithoutServer(t *testing.T) {
	m, err := metrics.New(metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := m.Names()
	// The broker gauges are listed even when this instance has no server: Names
	// describes what the package registers in a running broker.
	if !slices.Contains(names, "imqtt_subscriptions") || !slices.Contains(names, "imqtt_messages_dropped_total") {
		t.Fatalf("Names() = %v", names)
	}
	if _, err := metrics.New(metrics.Options{}); err != nil {
		t.Fatalf("a second Metrics must not collide with the first (no global registry): %v", err)
	}
}
