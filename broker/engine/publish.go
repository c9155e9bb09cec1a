package engine

import (
	"context"
	"fmt"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/mochi-mqtt/server/v2/packets"
)

// publish handles an inbound PUBLISH: checks, topic alias, authorisation,
// routing, and the acknowledgement (PUBACK, or PUBREC for QoS 2).
func (cl *client) publish(b *transport.Batch, pk *packets.Packet) error {
	e := cl.e
	e.st.msgIn.Add(1)
	qos := pk.FixedHeader.Qos
	if qos > e.cfg.MaxQoS {
		return fmt.Errorf("%w: qos %d above maximum %d", ErrQoSNotSupported, qos, e.cfg.MaxQoS) // [MQTT-3.2.2-11]
	}
	if pk.FixedHeader.Retain && !e.cfg.RetainAvailable {
		return fmt.Errorf("%w", ErrRetainNotSupported) // [MQTT-3.2.2-14]
	}
	if qos > 0 && pk.PacketID == 0 {
		return fmt.Errorf("%w: QoS %d PUBLISH without packet id [MQTT-2.2.1-3]", ErrProtocol, qos)
	}
	if len(pk.Properties.SubscriptionIdentifier) > 0 {
		return fmt.Errorf("%w: PUBLISH with a subscription identifier [MQTT-3.3.4-6]", ErrProtocol)
	}
	topic, err := cl.resolveAlias(pk)
	if err != nil {
		return err
	}
	if !validTopic(topic) {
		return fmt.Errorf("%w: topic name %q [MQTT-3.3.2-2]", ErrProtocol, topic)
	}
	if e.tooDeep(topic) {
		// Refused before anything sees it: v5 QoS 1/2 get PUBACK/PUBREC 0x90
		// (Topic Name invalid) and stay; QoS 0 has no ack, so DISCONNECT
		// 0x90; 3.1.1 cannot carry a reason: closed [MQTT-3.3.5-2].
		e.refusedDeep(&cl.info, "publish", topic)
		if !cl.v5() || qos == 0 {
			return fmt.Errorf("%w: deeper than %d levels", ErrTopicNameInvalid, e.cfg.MaxTopicLevels)
		}
		typ := byte(packets.Puback)
		if qos == 2 {
			typ = packets.Pubrec
		}
		cl.ackPublish(b, typ, pk.PacketID, 0x90)
		return nil
	}

	var code byte // v5 reason code of the ack
	if qos == 2 {
		s := cl.s
		s.mu.Lock()
		_, dup := s.inQoS2[pk.PacketID]
		if !dup && len(s.inQoS2) >= int(e.cfg.ReceiveMaximum) {
			s.mu.Unlock()
			return fmt.Errorf("%w: %d QoS 2 in flight", ErrReceiveMaximum, len(s.inQoS2)) // [MQTT-3.3.4-9]
		}
		if dup { // [MQTT-4.3.3-10] a re-sent QoS 2 is not delivered again
			s.mu.Unlock()
			cl.ackPublish(b, packets.Pubrec, pk.PacketID, 0)
			return nil
		}
		if s.inQoS2 == nil {
			s.inQoS2 = make(map[uint16]bool, 1)
		}
		s.inQoS2[pk.PacketID] = false
		s.mu.Unlock()
	}

	if !e.acl.Allow(&cl.info, topic, ext.AccessPublish) {
		code = 0x87
		cl.logEvent(cl.e.log.Debug()).Str(logfield.Topic, topic).Msg("publish not authorized")
	} else if e.handler != nil && e.handler.Claims(topic) {
		return cl.handOff(b, pk, topic) // acknowledged when handled, not routed (handoff.go)
	} else {
		m := newMessage(topic, pk.Payload, &pk.Properties, qos, pk.FixedHeader.Retain, e.cfg.MaxMessageExpiry, now())
		m.origin = cl.s
		// No 0x10 (No matching subscribers) when nobody matched: it is a
		// MAY [MQTT-3.4.2.1], and clients and tests of imqtt have always
		// read 0x00 for an accepted publish.
		_, dp := e.route(b, cl, m)
		e.forward(b, cl, m)
		if qos == 2 && cl.s.durable {
			if dp == nil {
				dp = &durablePub{}
			}
			dp.pubID, dp.inbound = cl.s.id, pk.PacketID
		}
		if dp != nil {
			cl.commitPublish(b, m, dp, qos, pk.PacketID, code)
			return nil
		}
	}
	cl.ackInbound(b, qos, pk.PacketID, code)
	return nil
}

// ackInbound acknowledges a PUBLISH (nothing for QoS 0).
func (cl *client) ackInbound(b *transport.Batch, qos byte, id uint16, code byte) {
	switch qos {
	case 1:
		cl.ackPublish(b, packets.Puback, id, code) // [MQTT-4.3.2-4]
	case 2:
		if code >= 0x80 { // a refused QoS 2 is not kept in flight (4.3.3)
			cl.s.mu.Lock()
			delete(cl.s.inQoS2, id)
			cl.s.mu.Unlock()
		}
		cl.ackPublish(b, packets.Pubrec, id, code) // [MQTT-4.3.3-9]
	}
}

// commitPublish writes a publish through the store before its ack: the
// publisher is paused meanwhile, so its acks (and its later messages) keep
// their order [MQTT-4.6.0-2] ff. A refused write is answered 0x80 (0x97 for
// a quota or a full disk) on v5, by closing a 3.1.1 connection.
func (cl *client) commitPublish(b *transport.Batch, m *message, dp *durablePub, qos byte, id uint16, code byte) {
	e := cl.e
	dp.owner = cl.info.Username
	done := make(chan struct{})
	cl.conn.Pause(b, done, 0)
	e.run(m, dp, func(ctx context.Context) {
		defer close(done)
		err := e.commit(ctx, m, dp)
		if err != nil {
			cl.logEvent(e.log.Warn()).Err(err).Str(logfield.Topic, m.topic).Msg("store publish refused")
			if !cl.v5() {
				// Not kept in flight: the re-sent PUBLISH is a new one.
				cl.s.mu.Lock()
				delete(cl.s.inQoS2, id)
				cl.s.mu.Unlock()
				cl.conn.Close(err)
				return
			}
			code = publishCode(err)
		} else if dp.inbound != 0 {
			cl.s.mu.Lock()
			if _, ok := cl.s.inQoS2[id]; ok {
				cl.s.inQoS2[id] = true // CompleteInbound at its PUBREL
			}
			cl.s.mu.Unlock()
		}
		cl.ackInbound(nil, qos, id, code)
	})
}

// ackPublish queues a PUBACK/PUBREC/PUBREL/PUBCOMP.
func (cl *client) ackPublish(b *transport.Batch, typ byte, id uint16, code byte) {
	fh := packets.FixedHeader{Type: typ}
	if typ == packets.Pubrel {
		fh.Qos = 1 // [MQTT-3.6.1-1]
	}
	if !cl.v5() {
		code = 0
	}
	cl.send(b, &packets.Packet{FixedHeader: fh, PacketID: id, ReasonCode: code})
}
