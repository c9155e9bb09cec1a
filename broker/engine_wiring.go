package broker

import (
	"fmt"

	"github.com/imqtt/imqtt/broker/engine"
	"github.com/imqtt/imqtt/broker/engine/transport"
	imhook "github.com/imqtt/imqtt/hooks/im"
	"github.com/imqtt/imqtt/hooks/session"
)

// Engine names of mqtt.engine.
const (
	// EngineNative is imqtt's own engine (broker/engine over
	// broker/engine/transport), the only one. Clean sessions are routed
	// between the nodes of a cluster (hooks/route), durable ones replicated
	// through the store, whose observer tells each node's engine of the
	// others' writes (storage.EngineStore.Observe).
	EngineNative = "native"
	// engineMochi is the name of mochi's Server path, removed in issue 17;
	// Validate refuses it with an error that says so.
	engineMochi = "mochi"
)

// engineConfig maps the node's mqtt.* and limits.* keys onto the engine's.
func (c Config) engineConfig() engine.Config {
	e := engine.DefaultConfig()
	m, l := c.MQTT, c.Limits
	e.MaxQoS = m.MaxQoS
	e.RetainAvailable = m.RetainAvailable
	e.WildcardSubscriptions = m.WildcardSubscriptions
	e.SharedSubscriptions = m.SharedSubscriptions
	e.SubscriptionIdentifiers = m.SubscriptionIdentifiers
	e.TopicAliasMaximum = m.TopicAliasMaximum
	e.OutboundTopicAliasMaximum = m.OutboundTopicAliasMaximum
	e.MaxSessionExpiry = m.MaxSessionExpiry
	e.MaxMessageExpiry = m.MaxMessageExpiry
	e.ObscureNotAuthorized = m.ObscureNotAuthorized
	e.MinKeepalive = l.MinKeepalive
	e.MaxKeepalive = l.MaxKeepalive
	e.ReceiveMaximum = l.ReceiveMaximum
	e.MaxInflight = l.MaxInflight
	e.MaxPacketSize = l.MaxPacketSize
	e.MaxQueuedBytes = l.FlowConfig.MaxQueuedBytes
	e.SlowSubscriberWait = l.FlowConfig.MaxWait
	e.SysInterval = m.SysInterval
	e.MaxTopicLevels = l.Levels.MaxTopicLevels
	e.MaxSubscriptionsPerClient = l.SessionLimits.MaxSubscriptionsPerClient
	e.MaxSessionsPerUser = c.Session.MaxPerUser
	e.OwnerMismatchCleanStart = c.Session.OwnerMismatch == session.MismatchCleanStart
	e.Version = c.Version
	return e
}

// transportConfig lists the enabled listeners, in config order, for the
// engine's connection layer.
func (c Config) transportConfig() transport.Config {
	t := transport.DefaultConfig()
	t.Listeners = nil
	all := c.Listeners.All()
	for _, name := range c.ListenerNames() {
		if lc := all[name]; lc.Enabled {
			t.Listeners = append(t.Listeners, lc.Config)
		}
	}
	t.ConnectTimeout = c.Limits.ConnectTimeout
	t.MaxPacketSize = int(c.Limits.MaxPacketSize)
	t.Poller = c.MQTT.Poller
	return t
}

// newIM builds the IM service on the engine: its publisher (bound to the
// engine once the engine exists: the engine's Authorizer needs the
// service's policy first) and the engine adapter (ext.PublishHandler and
// ext.Lifecycle).
func (b *Broker) newIM() error {
	pub := imhook.NewPublisher()
	if err := b.openIM(b.rootLog, pub); err != nil {
		return err
	}
	b.im.pub = pub
	h, err := imhook.New(imhook.Options{Service: b.im.svc, Log: b.rootLog})
	if err != nil {
		return fmt.Errorf("im hook: %w", err)
	}
	b.im.hook = h
	return nil
}
