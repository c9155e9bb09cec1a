package metrics

// The methods below make *Metrics the observer of the listener guard
// (broker/listen.Observer), of the auth hook and of the ACL hook. They are safe for
// concurrent use and never block.

// Accepted counts a connection the listener guard accepted
// (imqtt_connections_total).
func (m *Metrics) Accepted(listener string) {
	m.listener(listener).total.Inc()
}

// AcceptError counts a failed Accept that the listener retries
// (imqtt_accept_errors_total). err is not used as a label: its text is unbounded.
func (m *Metrics) AcceptError(listener string, _ error) {
	m.listener(listener).acceptErrors.Inc()
}

// Rejected counts a connection closed by a listener limit
// (imqtt_connections_rejected_total). reason should be one of the listen.Reason*
// constants: it becomes a label value, so it must come from a small fixed set.
func (m *Metrics) Rejected(listener, reason string) {
	m.connRejected.WithLabelValues(labelValue(listener), labelValue(reason)).Inc()
}

// Panic counts a panic recovered while serving one client
// (imqtt_panics_recovered_total).
func (m *Metrics) Panic(listener string) {
	m.listener(listener).panics.Inc()
}

// AuthFailed counts a refused authentication (imqtt_auth_failures_total). reason
// becomes a label value, so it must come from a small fixed set of constants.
func (m *Metrics) AuthFailed(reason string) {
	m.authFailures.WithLabelValues(labelValue(reason)).Inc()
}

// ACLDenied counts an ACL check that denied access (imqtt_acl_denied_total).
// access becomes a label value (for example "publish", "subscribe", "deliver").
func (m *Metrics) ACLDenied(access string) {
	m.aclDenied.WithLabelValues(labelValue(access)).Inc()
}

// LimitRefused counts a request refused by a security bound
// (imqtt_limit_refusals_total). limit becomes a label value, so it must come
// from a small fixed set of constants (one per configured bound, named after its
// config key, for example "max_sessions_per_user").
func (m *Metrics) LimitRefused(limit string) {
	m.limitRefused.WithLabelValues(labelValue(limit)).Inc()
}

// QueuedBytesDropped counts a delivery dropped because its subscriber's
// queued bytes were at limits.max_queued_bytes
// (imqtt_messages_dropped_total{reason="max_queued_bytes"}).
func (m *Metrics) QueuedBytesDropped() { m.dropQueuedBytes.Add(1) }
