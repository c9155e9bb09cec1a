// Package metrics turns broker events into Prometheus metrics.
//
// It owns one *Metrics value per process: a private *prometheus.Registry (never the
// global default registry) holding every imqtt_* family, the Go runtime collector
// and the process collector. Nothing here is package-level state.
//
// # Who feeds it
//
//   - Hook (NewHook) is a mochi hook. It Provides exactly OnSessionEstablished,
//     OnDisconnect, OnPacketRead, OnPacketSent, OnPublishDropped, OnQosDropped and
//     OnPacketIDExhausted, and never OnConnectAuthenticate or OnACLCheck (see
//     package hooks: exactly one hook decides each).
//   - *Metrics implements the listener observer of broker/listen (Accepted,
//     AcceptError, Rejected, Panic), an auth observer (AuthFailed) and an ACL
//     observer (ACLDenied). All methods are safe for concurrent use and never block.
//   - A custom collector reads the *mqtt.Server given in Options.Server at scrape
//     time for the broker gauges (subscriptions, retained, inflight, clients).
//
// # Call order
//
//	srv := mqtt.New(opts)
//	m, err := metrics.New(metrics.Options{Server: srv})
//	// pass m to the listener guard, the auth hook and the ACL hook as observer
//	srv.AddHook(metrics.NewHook(m), nil) // add it FIRST: a hook that rejects a
//	                                    // packet in OnPacketRead hides it from later hooks
//	// serve m (a prometheus.Gatherer) on /metrics: admin.Deps{Metrics: m}
//
// Nothing needs closing: the hook holds no goroutine and Stop is a no-op.
//
// # What each family counts (mochi v2.7.9 semantics)
//
//   - imqtt_connections_total{listener}: connections accepted by the listener guard
//     (Observer.Accepted), before any MQTT byte is read.
//   - imqtt_connections_established_total{listener} and imqtt_connections_active:
//     sessions that reached OnSessionEstablished (CONNACK sent). mochi calls
//     OnDisconnect exactly once for each of them from the same goroutine, also when
//     a session is taken over (the old connection's OnDisconnect) and on server
//     shutdown. mochi also calls OnDisconnect for sessions restored from storage
//     that never connected; those are ignored because the gauge only decrements
//     clients it saw established.
//   - imqtt_packets_received_total{type}, imqtt_bytes_received_total: every packet
//     that decoded, from OnPacketRead (before validation, ACL and auth; CONNECT
//     included). Bytes are the packet's full wire size (fixed header + remaining
//     length). Packets that fail to decode are not counted.
//   - imqtt_packets_sent_total{type}, imqtt_bytes_sent_total: every packet written to
//     a client, from OnPacketSent. mochi's b argument can be empty (its buffer is
//     drained by WriteTo), so the size comes from the encoded remaining length.
//   - imqtt_messages_received_total{qos}: PUBLISH packets read, by the QoS the
//     sender used (also those later refused by the ACL). imqtt_messages_sent_total{qos}:
//     PUBLISH packets written to subscribers (retransmissions included), by the QoS
//     of the delivery.
//   - imqtt_messages_dropped_total{reason}: client_writes_pending (OnPublishDropped:
//     a subscriber's outbound queue was full), packet_ids_exhausted
//     (OnPacketIDExhausted), inflight_quota (mochi's InflightDropped minus the
//     exhausted ones: the subscriber's inflight store was full; mochi has no hook
//     for it, so this series exists only with Options.Server), expired (an inflight
//     message past its expiry was discarded), qos_dropped (any other inflight
//     message discarded: clean-session end, failure reason on PUBREC/PUBREL).
//     mochi notifies an expired inflight twice (once with the message, once with
//     only its packet id); the second notification is ignored.
//   - imqtt_auth_failures_total{reason}, imqtt_acl_denied_total{access}: from the
//     auth and ACL hooks through AuthFailed and ACLDenied.
//   - imqtt_connections_rejected_total{listener,reason}, imqtt_accept_errors_total,
//     imqtt_panics_recovered_total: from the listener guard.
//   - imqtt_subscriptions, imqtt_retained_messages, imqtt_inflight_messages,
//     imqtt_clients_connected, imqtt_clients_total, imqtt_sessions_disconnected:
//     read from the server at scrape time. Retained messages include the $SYS
//     topics mochi retains; clients_total excludes mochi's inline client.
//
// # Cost
//
// The per-packet paths (OnPacketRead, OnPacketSent) touch pre-resolved counters
// only: no label lookup, no allocation (BenchmarkHookOnPacketSent). Label
// children per listener are resolved once per listener and cached.
//
// Label values are passed through strings.ToValidUTF8, so a caller can never make
// a metric call panic.
package metrics
