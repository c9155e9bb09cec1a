package im

import (
	"fmt"
	"time"

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
	pk := p.packet(d)
	if d.Requester != "" && d.QoS == 0 && !d.Retain {
		if done, err := p.direct(d.Requester, pk); done {
			return err
		}
	}
	if err := p.srv.InjectPacket(p.inline, pk); err != nil {
		return fmt.Errorf("deliver %s: %w", d.Topic, err)
	}
	return nil
}

// packet is the PUBLISH of d.
func (p *Publisher) packet(d im.Delivery) packets.Packet {
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
	return pk
}

// direct writes a QoS 0 pk straight to client id requester when that client
// is the only subscriber of the topic anywhere (the common case of an ack: one
// device waiting for it), as mochi's publish would have (no retain flag). It
// runs in the requester's own read goroutine (the hook's OnPublish), so the
// write joins the PUBACK in the cork. done is false when the packet must take
// the broker's publish path (other subscribers, a shared subscription, another
// node's route, a subscription with MQTT 5 subscription identifiers); a topic
// nobody subscribes to is done with nothing written. No ACL check is repeated:
// the subscription passed it, and the IM policy always lets a user read their
// own im/u/{user}/ tree, where acks go.
func (p *Publisher) direct(requester string, pk packets.Packet) (done bool, err error) {
	subs := p.srv.Topics.Subscribers(pk.TopicName)
	if len(subs.Shared) > 0 || len(subs.Subscriptions) > 1 || (p.remote != nil && p.remote(pk.TopicName)) {
		return false, nil
	}
	sub, ok := subs.Subscriptions[requester]
	if !ok {
		return len(subs.Subscriptions) == 0, nil
	}
	if len(sub.Identifiers) > 0 {
		return false, nil // mochi adds them [MQTT-3.3.4-3]
	}
	cl, ok := p.srv.Clients.Get(requester)
	if !ok || cl.Closed() {
		return false, nil
	}
	pk.PacketID = 0
	pk.Origin = inlineID
	pk.Created = time.Now().Unix()
	if err := cl.WritePacket(pk); err != nil {
		return true, fmt.Errorf("deliver %s to %s: %w", pk.TopicName, requester, err)
	}
	return true, nil
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
