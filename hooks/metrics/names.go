package metrics

import (
	"sort"
	"strings"
)

// Namespace prefixes every metric family this package defines.
const Namespace = "imqtt"

// Reasons for imqtt_messages_dropped_total.
const (
	// DropClientWritesPending: a slow subscriber's delivery was dropped
	// (ext.DropSlowSubscriber).
	DropClientWritesPending = "client_writes_pending"
	// DropInflightQuota: a subscriber's in-flight window was full
	// (ext.DropInflightQuota).
	DropInflightQuota = "inflight_quota"
	// DropExpired: a message passed its expiry and was discarded.
	DropExpired = "expired"
	// DropQoSDropped: a QoS 0 message for an offline session
	// (ext.DropQoS0Offline).
	DropQoSDropped = "qos_dropped"
	// DropQueuedBytes: a subscriber's pending bytes were at
	// limits.max_queued_bytes.
	DropQueuedBytes = "max_queued_bytes"
	// DropTooLarge: above the subscriber's Maximum Packet Size (the engine).
	DropTooLarge = "packet_too_large"
	// DropQueueFull: a session's offline queue was full (the engine).
	DropQueueFull = "queue_full"
)

// Label names.
const (
	labelListener = "listener"
	labelReason   = "reason"
	labelType     = "type"
	labelQoS      = "qos"
	labelAccess   = "access"
	labelLimit    = "limit"
)

// Fully qualified family names.
const (
	nameConnectionsActive      = Namespace + "_connections_active"
	nameConnectionsTotal       = Namespace + "_connections_total"
	nameConnectionsEstablished = Namespace + "_connections_established_total"
	nameConnectionsRejected    = Namespace + "_connections_rejected_total"
	nameAcceptErrors           = Namespace + "_accept_errors_total"
	namePanicsRecovered        = Namespace + "_panics_recovered_total"
	namePacketsReceived        = Namespace + "_packets_received_total"
	namePacketsSent            = Namespace + "_packets_sent_total"
	nameBytesReceived          = Namespace + "_bytes_received_total"
	nameBytesSent              = Namespace + "_bytes_sent_total"
	nameMessagesReceived       = Namespace + "_messages_received_total"
	nameMessagesSent           = Namespace + "_messages_sent_total"
	nameMessagesDropped        = Namespace + "_messages_dropped_total"
	nameAuthFailures           = Namespace + "_auth_failures_total"
	nameACLDenied              = Namespace + "_acl_denied_total"
	nameLimitRefusals          = Namespace + "_limit_refusals_total"
	nameSubscriptions          = Namespace + "_subscriptions"
	nameRetainedMessages       = Namespace + "_retained_messages"
	nameInflightMessages       = Namespace + "_inflight_messages"
	nameClientsConnected       = Namespace + "_clients_connected"
	nameClientsTotal           = Namespace + "_clients_total"
	nameSessionsDisconnected   = Namespace + "_sessions_disconnected"
)

// ownNames lists every imqtt_* family New registers.
var ownNames = [...]string{
	nameConnectionsActive,
	nameConnectionsTotal,
	nameConnectionsEstablished,
	nameConnectionsRejected,
	nameAcceptErrors,
	namePanicsRecovered,
	namePacketsReceived,
	namePacketsSent,
	nameBytesReceived,
	nameBytesSent,
	nameMessagesReceived,
	nameMessagesSent,
	nameMessagesDropped,
	nameAuthFailures,
	nameACLDenied,
	nameLimitRefusals,
	nameSubscriptions,
	nameRetainedMessages,
	nameInflightMessages,
	nameClientsConnected,
	nameClientsTotal,
	nameSessionsDisconnected,
}

// Names returns, sorted, the name of every metric family m registers: the imqtt_*
// families (including the broker gauges, which appear in a scrape only when
// Options.Server was set) and the go_* and process_* families the runtime
// collectors report on this platform.
func (m *Metrics) Names() []string {
	set := make(map[string]struct{}, len(ownNames)+64)
	for _, n := range ownNames {
		set[n] = struct{}{}
	}
	// The runtime collectors decide their families at run time; ask them.
	// Gather reports partial results with an error; the names it did report count.
	mfs, _ := m.reg.Gather()
	for _, mf := range mfs {
		set[mf.GetName()] = struct{}{}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// packetTypeNames maps an MQTT control packet type to its label value.
var packetTypeNames = [16]string{
	1:  "connect",
	2:  "connack",
	3:  "publish",
	4:  "puback",
	5:  "pubrec",
	6:  "pubrel",
	7:  "pubcomp",
	8:  "subscribe",
	9:  "suback",
	10: "unsubscribe",
	11: "unsuback",
	12: "pingreq",
	13: "pingresp",
	14: "disconnect",
	15: "auth",
}

// qosNames are the label values of the qos label.
var qosNames = [3]string{"0", "1", "2"}

// labelValue makes s safe as a label value: client_golang panics (WithLabelValues)
// or errors on invalid UTF-8.
func labelValue(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}
