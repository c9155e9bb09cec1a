package enginetest

import (
	"fmt"
	"slices"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"
)

// pair connects a paho subscriber on filter at subQoS and a paho publisher.
func pair(tg Target, prefix, filter string, subQoS byte) (sub, pub *client, err error) {
	if sub, err = connectV5(tg, prefix+"-sub"); err != nil {
		return nil, nil, err
	}
	if err = sub.sub1(filter, subQoS); err != nil {
		sub.close()
		return nil, nil, err
	}
	if pub, err = connectV5(tg, prefix+"-pub"); err != nil {
		sub.close()
		return nil, nil, err
	}
	return sub, pub, nil
}

// checkQoSBothWays: QoS 0/1/2 in, delivered at min(publish, subscription) QoS.
func checkQoSBothWays(tg Target) error {
	for _, subQoS := range []byte{0, 1, 2} {
		topic := uniq("qos/both")
		sub, pub, err := pair(tg, "qos", topic, subQoS)
		if err != nil {
			return err
		}
		for _, pubQoS := range []byte{0, 1, 2} {
			payload := fmt.Sprintf("p%d-s%d", pubQoS, subQoS)
			if err := pub.pub(&paho.Publish{Topic: topic, QoS: pubQoS, Payload: []byte(payload)}); err != nil {
				sub.close()
				pub.close()
				return err
			}
			m, err := sub.expectMsg(topic, payload)
			if err == nil && m.QoS != min(pubQoS, subQoS) {
				err = fmt.Errorf("published QoS %d to a QoS %d subscription, delivered QoS %d [MQTT-3.8.4-8]: %w", pubQoS, subQoS, m.QoS, ErrUnexpected)
			}
			if err != nil {
				sub.close()
				pub.close()
				return err
			}
		}
		sub.close()
		pub.close()
	}
	return nil
}

// checkQoS2InboundOnce: a QoS 2 PUBLISH sent twice (DUP) before PUBREL is
// delivered once [MQTT-4.3.3-10]; a sentinel published after proves no copy
// is pending.
func checkQoS2InboundOnce(tg Target) error {
	topic := uniq("qos2/once")
	sub, err := connectV5(tg, "qos2once-sub")
	if err != nil {
		return err
	}
	defer sub.close()
	if err := sub.sub1(topic, 2); err != nil {
		return err
	}
	for _, v := range []byte{4, 5} {
		p, err := dialRaw(tg, v)
		if err != nil {
			return err
		}
		defer p.close()
		if _, err := p.connect(connectPacket(v, uniq("qos2once-pub"), true)); err != nil {
			return err
		}
		pk := publishPacket(topic, 2, 11, []byte(fmt.Sprintf("once-v%d", v)))
		if err := p.send(pk); err != nil {
			return err
		}
		if rec, _, err := p.expect(packets.Pubrec, ioTimeout); err != nil || rec.PacketID != 11 || rec.ReasonCode >= 0x80 {
			return fmt.Errorf("v%d PUBREC for id 11: %s %v: %w", v, describe(rec), err, ErrUnexpected)
		}
		pk.FixedHeader.Dup = true
		if err := p.send(pk); err != nil {
			return err
		}
		if rec, _, err := p.expect(packets.Pubrec, ioTimeout); err != nil || rec.PacketID != 11 {
			return fmt.Errorf("v%d PUBREC for the DUP: %s %v: %w", v, describe(rec), err, ErrUnexpected)
		}
		if err := p.send(ackPacket(packets.Pubrel, 11)); err != nil {
			return err
		}
		if comp, _, err := p.expect(packets.Pubcomp, ioTimeout); err != nil || comp.PacketID != 11 || comp.ReasonCode != 0 {
			return fmt.Errorf("v%d PUBCOMP for id 11: %s %v: %w", v, describe(comp), err, ErrUnexpected)
		}
		if err := p.send(publishPacket(topic, 0, 0, []byte(fmt.Sprintf("sentinel-v%d", v)))); err != nil {
			return err
		}
		if _, err := sub.expectMsg(topic, fmt.Sprintf("once-v%d", v)); err != nil {
			return fmt.Errorf("v%d: %w", v, err)
		}
		if _, err := sub.expectMsg(topic, fmt.Sprintf("sentinel-v%d", v)); err != nil {
			return fmt.Errorf("v%d QoS 2 delivered twice? %w", v, err)
		}
	}
	return nil
}

// checkV311QoSFlows: a 3.1.1 subscriber and publisher complete QoS 1 and 2
// with raw packets (ids, acks and granted QoS checked).
func checkV311QoSFlows(tg Target) error {
	topic := uniq("v311/qos")
	s, err := dialRaw(tg, 4)
	if err != nil {
		return err
	}
	defer s.close()
	if _, err := s.connect(connectPacket(4, uniq("v311-sub"), true)); err != nil {
		return err
	}
	if err := s.subscribe(3, packets.Properties{}, packets.Subscription{Filter: topic, Qos: 2}); err != nil {
		return err
	}
	p, err := dialRaw(tg, 4)
	if err != nil {
		return err
	}
	defer p.close()
	if _, err := p.connect(connectPacket(4, uniq("v311-pub"), true)); err != nil {
		return err
	}
	for _, qos := range []byte{1, 2} {
		if err := p.send(publishPacket(topic, qos, 100+uint16(qos), []byte{qos})); err != nil {
			return err
		}
		if qos == 1 {
			if ack, _, err := p.expect(packets.Puback, ioTimeout); err != nil || ack.PacketID != 101 {
				return fmt.Errorf("PUBACK: %s %v: %w", describe(ack), err, ErrUnexpected)
			}
		} else {
			if _, _, err := p.expect(packets.Pubrec, ioTimeout); err != nil {
				return err
			}
			if err := p.send(ackPacket(packets.Pubrel, 102)); err != nil {
				return err
			}
			if ack, _, err := p.expect(packets.Pubcomp, ioTimeout); err != nil || ack.PacketID != 102 {
				return fmt.Errorf("PUBCOMP: %s %v: %w", describe(ack), err, ErrUnexpected)
			}
		}
		m, _, err := s.expect(packets.Publish, ioTimeout)
		if err != nil {
			return err
		}
		if m.FixedHeader.Qos != qos || !slices.Equal(m.Payload, []byte{qos}) || m.PacketID == 0 {
			return fmt.Errorf("subscriber got %s payload %x, want QoS %d: %w", describe(m), m.Payload, qos, ErrUnexpected)
		}
		if qos == 1 {
			err = s.send(ackPacket(packets.Puback, m.PacketID))
		} else {
			if err = s.send(ackPacket(packets.Pubrec, m.PacketID)); err == nil {
				var rel packets.Packet
				if rel, _, err = s.expect(packets.Pubrel, ioTimeout); err == nil && rel.PacketID != m.PacketID {
					err = fmt.Errorf("PUBREL id %d for PUBREC %d: %w", rel.PacketID, m.PacketID, ErrUnexpected)
				}
				if err == nil {
					err = s.send(ackPacket(packets.Pubcomp, m.PacketID))
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkPersistentResumeInOrder: messages queued for an offline persistent
// session arrive in publish order after session present 1 [MQTT-4.6.0-6].
func checkPersistentResumeInOrder(tg Target) error {
	id := uniq("resume")
	topic := uniq("resume/t")
	c, err := persistentSub(tg, id, topic, 60)
	if err != nil {
		return err
	}
	err = c.disconnectAndWait()
	c.close()
	if err != nil {
		return err
	}
	p, err := connectV5(tg, "resume-pub")
	if err != nil {
		return err
	}
	defer p.close()
	for i := range 5 {
		if err := p.pub(&paho.Publish{Topic: topic, QoS: 1, Payload: []byte{byte('0' + i)}}); err != nil {
			return err
		}
	}
	r, err := dialRaw(tg, 5)
	if err != nil {
		return err
	}
	defer r.close()
	cp := connectPacket(5, id, false)
	cp.Properties.SessionExpiryIntervalFlag = true // expiry 0 from here: nothing left behind
	ack, err := r.connect(cp)
	if err != nil {
		return err
	}
	if !ack.SessionPresent {
		return fmt.Errorf("session present 0 for a session with expiry 60: %w", ErrUnexpected)
	}
	var got []byte
	for len(got) < 5 {
		m, _, err := r.expect(packets.Publish, ioTimeout)
		if err != nil {
			return fmt.Errorf("after %q: %w", got, err)
		}
		got = append(got, m.Payload...)
		if m.FixedHeader.Dup && len(got) == 1 {
			return fmt.Errorf("first delivery of a queued message has DUP=1 [MQTT-3.3.1-1]: %w", ErrUnexpected)
		}
		_ = r.send(ackPacket(packets.Puback, m.PacketID))
	}
	if string(got) != "01234" {
		return fmt.Errorf("queued messages arrived as %q, want 01234: %w", got, ErrUnexpected)
	}
	return nil
}
