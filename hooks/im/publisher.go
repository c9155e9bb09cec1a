package im

import (
	"fmt"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/im"
)

// inlineID is the client id of the publisher's inline client (it never
// connects: mochi only uses it as the origin of the packets).
const inlineID = "imqtt-im"

// contentType is the MQTT 5 Content Type of every IM payload.
const contentType = "application/json"

// Publisher is the im.Deliverer over mochi: it publishes from its own inline
// client, so MQTT 5 properties (Correlation Data of a reply) go out with the
// message. Safe for concurrent use.
type Publisher struct {
	srv    *mqtt.Server
	inline *mqtt.Client
	remote func(topic string) bool
}

// NewPublisher returns a Publisher for srv. remote reports whether a
// subscriber on another node matches a topic (the cluster router's routes);
// nil means there is none (a single node).
func NewPublisher(srv *mqtt.Server, remote func(topic string) bool) *Publisher {
	cl := srv.NewClient(nil, "local", inlineID, true)
	cl.Properties.ProtocolVersion = 5
	return &Publisher{srv: srv, inline: cl, remote: remote}
}

// Deliver publishes d as the broker; with d.SkipIfOnly set it publishes
// nothing unless another subscriber than that client matches d.Topic.
func (p *Publisher) Deliver(d im.Delivery) error {
	if d.SkipIfOnly != "" && !p.othersSubscribed(d.Topic, d.SkipIfOnly) {
		return nil
	}
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: d.QoS, Retain: d.Retain},
		TopicName:   d.Topic,
		Payload:     d.Payload,
		PacketID:    uint16(d.QoS), // mochi's validity check wants an id for QoS > 0; never sent
	}
	pk.Properties.ContentType = contentType
	pk.Properties.PayloadFormat = 1
	pk.Properties.PayloadFormatFlag = true
	pk.Properties.CorrelationData = d.CorrelationData
	if err := p.srv.InjectPacket(p.inline, pk); err != nil {
		return fmt.Errorf("deliver %s: %w", d.Topic, err)
	}
	return nil
}

// othersSubscribed reports whether a subscriber other than client id except
// matches topic: a local subscription of another client (persistent sessions
// of every node are in the local index too), any shared subscription, or a
// route of another node.
func (p *Publisher) othersSubscribed(topic, except string) bool {
	subs := p.srv.Topics.Subscribers(topic)
	if len(subs.Shared) > 0 {
		return true
	}
	for id := range subs.Subscriptions {
		if id != except {
			return true
		}
	}
	return p.remote != nil && p.remote(topic)
}
