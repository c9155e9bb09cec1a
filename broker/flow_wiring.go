package broker

import (
	"fmt"

	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/imqtt/imqtt/hooks/acl"
	"github.com/imqtt/imqtt/hooks/flow"
)

// newFlowHook builds the back-pressure hook (limits.slow_subscriber_wait,
// limits.max_queued_bytes) and registers its metrics. Deliveries to the
// persistent sessions the storage hook pumps do not use mochi's outbound
// queue, so the byte bound skips them.
func (b *Broker) newFlowHook() (*flow.Hook, error) {
	opts := flow.Options{MaxInflight: int(b.cfg.Limits.MaxInflight), Log: b.rootLog, Observer: b.metrics}
	// b.storage is built after this hook (the ACL needs both); it is set
	// before the server serves.
	opts.Bypass = func(cl *mqtt.Client) bool { return b.storage != nil && b.storage.Owns(cl.ID) }
	h, err := flow.New(b.cfg.Limits.FlowConfig, opts)
	if err != nil {
		return nil, fmt.Errorf("limits: %w", err)
	}
	if err := b.metrics.Registry().Register(flow.NewCollector(h)); err != nil {
		return nil, fmt.Errorf("flow metrics: %w", err)
	}
	return h, nil
}

// flowPolicy vetoes the delivery the flow hook's byte bound refused (it
// decided, in its OnACLCheck right before, that the subscriber's queued bytes
// are at limits.max_queued_bytes). It decides nothing else.
func flowPolicy(h *flow.Hook) acl.Policy {
	return func(_, clientID, _ string, access acl.Access) (acl.Verdict, bool) {
		if access == acl.AccessRead && h.Dropping(clientID) {
			return acl.Deny, true
		}
		return acl.Deny, false
	}
}
