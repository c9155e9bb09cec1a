package metrics

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/imqtt/imqtt/hooks/ext"
)

// Options configures New.
type Options struct {
	// Gauges is read at scrape time for the broker gauges
	// (imqtt_subscriptions, imqtt_retained_messages, ...: the engine's
	// engine.Engine.Gauges). Nil leaves those series out.
	Gauges func() ext.Gauges
}

// Metrics owns the registry and every imqtt_* metric. Create it with New; all
// methods are safe for concurrent use and never block on I/O.
type Metrics struct {
	reg *prometheus.Registry

	// Per-listener families; children are cached in listeners.
	connActive      *prometheus.GaugeVec
	connTotal       *prometheus.CounterVec
	connEstablished *prometheus.CounterVec
	connRejected    *prometheus.CounterVec
	acceptErrors    *prometheus.CounterVec
	panics          *prometheus.CounterVec

	mu        sync.RWMutex
	listeners map[string]*listenerMetrics

	// Pre-resolved children for the per-packet paths.
	packetsReceived  [16]prometheus.Counter
	packetsSent      [16]prometheus.Counter
	bytesReceived    prometheus.Counter
	bytesSent        prometheus.Counter
	messagesReceived [3]prometheus.Counter
	messagesSent     [3]prometheus.Counter

	// Drop counts by reason (EngineObserver.MessageDropped), exported by
	// droppedCollector.
	dropClientWrites atomic.Int64
	dropExpired      atomic.Int64
	dropQoS          atomic.Int64
	dropQueuedBytes  atomic.Int64
	dropTooLarge     atomic.Int64
	dropQueueFull    atomic.Int64
	dropInflight     atomic.Int64

	authFailures *prometheus.CounterVec
	aclDenied    *prometheus.CounterVec
	limitRefused *prometheus.CounterVec
}

// listenerMetrics holds the resolved children of one listener.
type listenerMetrics struct {
	active       prometheus.Gauge
	total        prometheus.Counter
	established  prometheus.Counter
	acceptErrors prometheus.Counter
	panics       prometheus.Counter
}

// New builds a Metrics with its own registry holding the imqtt_* families, the Go
// runtime collector and the process collector. It returns an error wrapping
// ErrRegister only on a programming error.
func New(opts Options) (*Metrics, error) {
	m := &Metrics{
		reg:       prometheus.NewRegistry(),
		listeners: make(map[string]*listenerMetrics),
	}
	byListener := []string{labelListener}
	m.connActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: nameConnectionsActive,
		Help: "MQTT sessions currently established (CONNACK sent, not yet disconnected), by listener.",
	}, byListener)
	m.connTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: nameConnectionsTotal,
		Help: "Network connections accepted by the listener guard, by listener.",
	}, byListener)
	m.connEstablished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: nameConnectionsEstablished,
		Help: "MQTT sessions established (CONNACK success sent), by listener.",
	}, byListener)
	m.connRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: nameConnectionsRejected,
		Help: "Connections closed by a listener limit, by listener and reason.",
	}, []string{labelListener, labelReason})
	m.acceptErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: nameAcceptErrors,
		Help: "Failed accepts that the listener retried, by listener.",
	}, byListener)
	m.panics = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: namePanicsRecovered,
		Help: "Panics recovered while serving one client, by listener.",
	}, byListener)

	packetsReceived := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: namePacketsReceived,
		Help: "MQTT control packets read from clients (decoded, before validation), by packet type.",
	}, []string{labelType})
	packetsSent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: namePacketsSent,
		Help: "MQTT control packets written to clients, by packet type.",
	}, []string{labelType})
	m.bytesReceived = prometheus.NewCounter(prometheus.CounterOpts{
		Name: nameBytesReceived,
		Help: "Wire bytes of the MQTT packets read from clients.",
	})
	m.bytesSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: nameBytesSent,
		Help: "Wire bytes of the MQTT packets written to clients.",
	})
	messagesReceived := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: nameMessagesReceived,
		Help: "PUBLISH packets read from clients, by the QoS the sender used.",
	}, []string{labelQoS})
	messagesSent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: nameMessagesSent,
		Help: "PUBLISH packets written to subscribers, by delivery QoS.",
	}, []string{labelQoS})
	m.authFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: nameAuthFailures,
		Help: "Refused authentications, by reason.",
	}, []string{labelReason})
	m.aclDenied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: nameACLDenied,
		Help: "ACL checks that denied access, by access kind.",
	}, []string{labelAccess})
	m.limitRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: nameLimitRefusals,
		Help: "Requests refused by a per-user, per-client or per-address bound, by limit (docs/operations.md, Security).",
	}, []string{labelLimit})

	for t, name := range packetTypeNames {
		if name == "" {
			continue
		}
		m.packetsReceived[t] = packetsReceived.WithLabelValues(name)
		m.packetsSent[t] = packetsSent.WithLabelValues(name)
	}
	for q, name := range qosNames {
		m.messagesReceived[q] = messagesReceived.WithLabelValues(name)
		m.messagesSent[q] = messagesSent.WithLabelValues(name)
	}

	cs := []prometheus.Collector{
		m.connActive, m.connTotal, m.connEstablished, m.connRejected, m.acceptErrors, m.panics,
		packetsReceived, packetsSent, m.bytesReceived, m.bytesSent,
		messagesReceived, messagesSent, newDroppedCollector(m),
		m.authFailures, m.aclDenied, m.limitRefused,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	if opts.Gauges != nil {
		cs = append(cs, newBrokerCollector(opts.Gauges))
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRegister, err)
		}
	}
	return m, nil
}

// Registry returns the registry holding every metric of m: serve it on /metrics
// (promhttp.HandlerFor) or register more collectors in it.
func (m *Metrics) Registry() *prometheus.Registry {
	return m.reg
}

// Gather implements prometheus.Gatherer over Registry(), so a *Metrics can be
// handed to promhttp (or admin.Deps.Metrics) directly.
func (m *Metrics) Gather() ([]*dto.MetricFamily, error) {
	return m.reg.Gather()
}

// listener returns the cached children of the listener id, creating them once.
func (m *Metrics) listener(id string) *listenerMetrics {
	m.mu.RLock()
	lm, ok := m.listeners[id]
	m.mu.RUnlock()
	if ok {
		return lm
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if lm, ok := m.listeners[id]; ok {
		return lm
	}
	v := labelValue(id)
	lm = &listenerMetrics{
		active:       m.connActive.WithLabelValues(v),
		total:        m.connTotal.WithLabelValues(v),
		established:  m.connEstablished.WithLabelValues(v),
		acceptErrors: m.acceptErrors.WithLabelValues(v),
		panics:       m.panics.WithLabelValues(v),
	}
	m.listeners[id] = lm
	return lm
}
