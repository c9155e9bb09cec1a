// Package metrics turns broker events into Prometheus metrics.
//
// It owns one *Metrics value per process: a private *prometheus.Registry (never the
// global default registry) holding every imqtt_* family, the Go runtime collector
// and the process collector. Nothing here is package-level state.
//
// # Who feeds it
//
//   - EngineObserver (NewEngineObserver) is the engine's ext.Observer:
//     connections, packets, messages and drops as the engine sees them.
//   - *Metrics implements the listener observer of broker/listen (Accepted,
//     AcceptError, Rejected, Panic), an auth observer (AuthFailed), an ACL
//     observer (ACLDenied) and the bound observer (LimitRefused). All methods
//     are safe for concurrent use and never block.
//   - A custom collector reads Options.Gauges (engine.Engine.Gauges) at
//     scrape time for the broker gauges (subscriptions, retained, inflight,
//     clients).
//
// # Call order
//
//	m, err := metrics.New(metrics.Options{Gauges: func() ext.Gauges { return eng.Gauges() }})
//	// pass m to the listener guard, auth and the ACL as observer, and
//	// metrics.NewEngineObserver(m) to the engine (engine.Options.Observer)
//	// serve m (a prometheus.Gatherer) on /metrics: admin.Deps{Metrics: m}
//
// Nothing needs closing: nothing here holds a goroutine.
//
// # What each family counts
//
//   - imqtt_connections_total{listener}: connections accepted by the listener guard
//     (Observer.Accepted), before any MQTT byte is read.
//   - imqtt_connections_established_total{listener} and imqtt_connections_active:
//     sessions the engine established (CONNACK sent) and has not ended; the
//     engine reports each connect and disconnect once per connection.
//   - imqtt_packets_received_total{type}, imqtt_bytes_received_total: every
//     packet the engine read, with its full wire size.
//   - imqtt_packets_sent_total{type}, imqtt_bytes_sent_total: every packet
//     written to a client.
//   - imqtt_messages_received_total{qos}: PUBLISH packets read, by the QoS the
//     sender used (also those later refused by the ACL). imqtt_messages_sent_total{qos}:
//     PUBLISH packets written to subscribers (retransmissions included), by the QoS
//     of the delivery.
//   - imqtt_messages_dropped_total{reason}: client_writes_pending (a slow
//     subscriber's delivery), inflight_quota (the subscriber's in-flight
//     window was full), expired, qos_dropped (QoS 0 for an offline session),
//     max_queued_bytes (limits.max_queued_bytes), packet_too_large (above the
//     subscriber's Maximum Packet Size), queue_full (a session's offline queue).
//   - imqtt_auth_failures_total{reason}, imqtt_acl_denied_total{access}: from
//     auth and the ACL through AuthFailed and ACLDenied.
//   - imqtt_connections_rejected_total{listener,reason}, imqtt_accept_errors_total,
//     imqtt_panics_recovered_total: from the listener guard and transport.
//   - imqtt_subscriptions, imqtt_retained_messages, imqtt_inflight_messages,
//     imqtt_clients_connected, imqtt_clients_total, imqtt_sessions_disconnected:
//     read from the engine at scrape time.
//
// # Cost
//
// The per-packet paths (EngineObserver.PacketReceived, PacketSent) touch
// pre-resolved counters only: no label lookup, no allocation. Label
// children per listener are resolved once per listener and cached.
//
// Label values are passed through strings.ToValidUTF8, so a caller can never make
// a metric call panic.
package metrics
