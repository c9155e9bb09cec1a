package enginetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"
)

// checkTopicAliasInbound: a PUBLISH that sets alias 1 and one that uses it
// with an empty topic both reach the subscriber on the full topic
// [MQTT-3.3.2-12].
func checkTopicAliasInbound(tg Target) error {
	topic := uniq("alias/in")
	sub, err := connectV5(tg, "alias-sub")
	if err != nil {
		return err
	}
	defer sub.close()
	if err := sub.sub1(topic, 0); err != nil {
		return err
	}
	c, err := dialRaw(tg, 5)
	if err != nil {
		return err
	}
	defer c.close()
	ack, err := c.connect(connectPacket(5, uniq("alias-pub"), true))
	if err != nil {
		return err
	}
	for i, t := range []string{topic, ""} {
		pk := publishPacket(t, 0, 0, []byte{byte('a' + i)})
		pk.Properties.TopicAlias, pk.Properties.TopicAliasFlag = 1, true
		if err := c.send(pk); err != nil {
			return err
		}
		if _, err := sub.expectMsg(topic, string(rune('a'+i))); err != nil {
			return fmt.Errorf("PUBLISH %d (topic %q, alias 1): %w", i, t, err)
		}
	}
	if ack.Properties.TopicAliasMaximum == 0 { // absent means 0: no aliases [MQTT-3.2.2-17]
		return fmt.Errorf("aliases work but CONNACK advertises no Topic Alias Maximum: %w", ErrUnexpected)
	}
	return nil
}

// checkReceiveMaximumInbound: one QoS 2 PUBLISH more than the server's
// Receive Maximum, none released, gets DISCONNECT 0x93 [MQTT-3.3.4-8].
func checkReceiveMaximumInbound(tg Target) error {
	c, err := dialRaw(tg, 5)
	if err != nil {
		return err
	}
	defer c.close()
	ack, err := c.connect(connectPacket(5, uniq("rm-in"), true))
	if err != nil {
		return err
	}
	rm := int(ack.Properties.ReceiveMaximum)
	if rm == 0 {
		rm = 65535
	}
	topic := uniq("rm/in")
	var buf bytes.Buffer
	for i := 1; i <= rm+1; i++ {
		b, err := encodePacket(packets.Packet{ProtocolVersion: 5,
			FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 2},
			TopicName:   topic, PacketID: uint16(i), Payload: []byte("x")})
		if err != nil {
			return err
		}
		buf.Write(b)
	}
	werr := make(chan error, 1)
	go func() { werr <- c.write(buf.Bytes()) }() // the broker's PUBRECs are read below
	defer func() { <-werr }()
	deadline := time.Now().Add(ioTimeout + time.Duration(rm)*time.Millisecond)
	recs := 0
	for {
		pk, err := c.read(time.Until(deadline))
		if err != nil {
			return fmt.Errorf("%d unreleased QoS 2 PUBLISHes with Receive Maximum %d, %d PUBREC: %w", rm+1, rm, recs, err)
		}
		switch {
		case pk.FixedHeader.Type == packets.Pubrec && pk.ReasonCode < 0x80:
			recs++
		case pk.FixedHeader.Type == packets.Disconnect && pk.ReasonCode == 0x93:
			if recs > rm {
				return fmt.Errorf("%d PUBRECs before DISCONNECT 0x93, Receive Maximum %d: %w", recs, rm, ErrUnexpected)
			}
			return nil
		default:
			return fmt.Errorf("after %d PUBRECs got %s, want DISCONNECT 0x93: %w", recs, describe(pk), ErrUnexpected)
		}
	}
}

// checkSharedRoundRobin: two members of $share/g get every message once
// between them, and both get some [MQTT-4.8.2-3].
func checkSharedRoundRobin(tg Target) error {
	topic := uniq("share/t")
	var members []*client
	defer func() {
		for _, m := range members {
			m.close()
		}
	}()
	for range 2 {
		m, err := connectV5(tg, "share-sub")
		if err != nil {
			return err
		}
		members = append(members, m)
		if err := m.sub1("$share/g/"+topic, 1); err != nil {
			return err
		}
	}
	p, err := connectV5(tg, "share-pub")
	if err != nil {
		return err
	}
	defer p.close()
	const n = 20
	for i := range n {
		if err := p.pub(&paho.Publish{Topic: topic, QoS: 1, Payload: fmt.Appendf(nil, "%02d", i)}); err != nil {
			return err
		}
	}
	var all []string
	counts := make([]int, len(members))
	deadline := time.Now().Add(ioTimeout)
	for len(all) < n && time.Now().Before(deadline) {
		for i, m := range members {
			select {
			case msg := <-m.msgs:
				all = append(all, string(msg.Payload))
				counts[i]++
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	slices.Sort(all)
	if len(slices.Compact(all)) != n || len(all) != n {
		return fmt.Errorf("shared group got %d messages (%d distinct) of %d: %w", len(all), len(slices.Compact(all)), n, ErrUnexpected)
	}
	if counts[0] == 0 || counts[1] == 0 {
		return fmt.Errorf("shared group split %v: one member got nothing: %w", counts, ErrUnexpected)
	}
	return nil
}

// checkNoLocal: a No Local subscriber does not get its own messages
// [MQTT-3.8.3-3]; another client's message after it is the next it sees.
func checkNoLocal(tg Target) error {
	topic := uniq("nolocal")
	c, err := connectV5(tg, "nolocal")
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.sub(nil, paho.SubscribeOptions{Topic: topic, QoS: 1, NoLocal: true}); err != nil {
		return err
	}
	if err := c.pub(&paho.Publish{Topic: topic, QoS: 1, Payload: []byte("own")}); err != nil {
		return err
	}
	o, err := connectV5(tg, "nolocal-other")
	if err != nil {
		return err
	}
	defer o.close()
	if err := o.pub(&paho.Publish{Topic: topic, QoS: 1, Payload: []byte("other")}); err != nil {
		return err
	}
	if _, err := c.expectMsg(topic, "other"); err != nil {
		return fmt.Errorf("no-local subscriber: %w", err)
	}
	return nil
}

// checkSubscriptionIdentifiers: a message carries the identifier of the
// subscription it matched, and none for one without [MQTT-3.3.4-3].
func checkSubscriptionIdentifiers(tg Target) error {
	base := uniq("subid")
	c, err := connectV5(tg, "subid")
	if err != nil {
		return err
	}
	defer c.close()
	for _, s := range []struct {
		id     int
		filter string
	}{{7, base + "/x"}, {300, base + "/y/#"}, {0, base + "/z"}} {
		var props *paho.SubscribeProperties
		if s.id > 0 {
			props = &paho.SubscribeProperties{SubscriptionIdentifier: &s.id}
		}
		if err := c.sub(props, paho.SubscribeOptions{Topic: s.filter, QoS: 1}); err != nil {
			return err
		}
	}
	for _, w := range []struct {
		topic string
		id    int
	}{{base + "/x", 7}, {base + "/y/q", 300}, {base + "/z", 0}} {
		if err := c.pub(&paho.Publish{Topic: w.topic, QoS: 1, Payload: []byte("s")}); err != nil {
			return err
		}
		m, err := c.expectMsg(w.topic, "s")
		if err != nil {
			return err
		}
		got := 0
		if m.Properties != nil && m.Properties.SubscriptionIdentifier != nil {
			got = *m.Properties.SubscriptionIdentifier
		}
		if got != w.id {
			return fmt.Errorf("message on %s carries subscription id %d, want %d: %w", w.topic, got, w.id, ErrUnexpected)
		}
	}
	return nil
}

// checkMaxPacketSizeRefused: a PUBLISH over the server's advertised Maximum
// Packet Size gets DISCONNECT 0x95 [MQTT-3.2.2-15], 4.13.
func checkMaxPacketSizeRefused(tg Target) error {
	c, err := dialRaw(tg, 5)
	if err != nil {
		return err
	}
	defer c.close()
	ack, err := c.connect(connectPacket(5, uniq("mps"), true))
	if err != nil {
		return err
	}
	max := ack.Properties.MaximumPacketSize
	if max == 0 || max > 16<<20 {
		return fmt.Errorf("CONNACK Maximum Packet Size %d: want one advertised, at most 16 MiB: %w", max, ErrUnexpected)
	}
	pk := publishPacket(uniq("mps/t"), 0, 0, make([]byte, max))
	if err := c.send(pk); err != nil {
		return err
	}
	return c.expectDisconnect(0x95, ioTimeout)
}

// checkClientMaxPacketSize: the server drops a message that would exceed the
// client's Maximum Packet Size [MQTT-3.1.2-25]; a small one after it arrives.
func checkClientMaxPacketSize(tg Target) error {
	topic := uniq("cmps")
	s, err := dialPaho(tg, &paho.Connect{ClientID: uniq("cmps-sub"), CleanStart: true,
		Properties: &paho.ConnectProperties{MaximumPacketSize: u32(128)}})
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.sub1(topic, 1); err != nil {
		return err
	}
	p, err := connectV5(tg, "cmps-pub")
	if err != nil {
		return err
	}
	defer p.close()
	if err := p.pub(&paho.Publish{Topic: topic, QoS: 1, Payload: bytes.Repeat([]byte("L"), 200)}); err != nil {
		return err
	}
	if err := p.pub(&paho.Publish{Topic: topic, QoS: 1, Payload: []byte("small")}); err != nil {
		return err
	}
	_, err = s.expectMsg(topic, "small")
	return err
}

// checkRequestResponseProperties: Response Topic, Correlation Data, Content
// Type, Payload Format and user properties reach the subscriber unchanged
// [MQTT-3.3.2-15..20].
func checkRequestResponseProperties(tg Target) error {
	topic := uniq("rr")
	sub, pub, err := pair(tg, "rr", topic, 1)
	if err != nil {
		return err
	}
	defer sub.close()
	defer pub.close()
	props := &paho.PublishProperties{ResponseTopic: topic + "/reply", CorrelationData: []byte{0, 9, 8},
		ContentType: "application/json", PayloadFormat: ptrByte(1),
		User: paho.UserProperties{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}, {Key: "b", Value: "3"}}}
	if err := pub.pub(&paho.Publish{Topic: topic, QoS: 1, Payload: []byte(`{}`), Properties: props}); err != nil {
		return err
	}
	m, err := sub.expectMsg(topic, `{}`)
	if err != nil {
		return err
	}
	p := m.Properties
	if p == nil || p.ResponseTopic != props.ResponseTopic || !bytes.Equal(p.CorrelationData, props.CorrelationData) ||
		p.ContentType != props.ContentType || p.PayloadFormat == nil || *p.PayloadFormat != 1 ||
		strings.Join(userProps(p.User), ",") != "a=1,a=2,b=3" {
		return fmt.Errorf("properties arrived as %+v: %w", p, ErrUnexpected)
	}
	return nil
}

// checkSysNotMatchedByHash: "#" matches no $SYS topic, retained or live
// [MQTT-4.7.2-1]. Client A holds "#", client B "$SYS/#"; once B got a live
// $SYS message (so A's copy, if any, was routed), A publishes a sentinel and
// must see no $ topic before it.
func checkSysNotMatchedByHash(tg Target) error {
	a, err := connectV5(tg, "sys-hash")
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.sub1("#", 0); err != nil {
		return err
	}
	b, err := connectV5(tg, "sys-sys")
	if err != nil {
		return err
	}
	defer b.close()
	if err := b.sub1("$SYS/#", 0); err != nil {
		return err
	}
	deadline := time.Now().Add(3 * ioTimeout)
	for {
		m, err := b.next(time.Until(deadline))
		if err != nil {
			return fmt.Errorf("no live $SYS message on \"$SYS/#\": %w", err)
		}
		if !m.Retain {
			break
		}
	}
	sentinel := uniq("sys-hash/sentinel")
	if err := a.pub(&paho.Publish{Topic: sentinel, QoS: 1, Payload: []byte("s")}); err != nil {
		return err
	}
	for {
		m, err := a.next(ioTimeout)
		if err != nil {
			return fmt.Errorf("waiting for the sentinel on \"#\": %w", err)
		}
		if strings.HasPrefix(m.Topic, "$") {
			return fmt.Errorf("\"#\" delivered %s [MQTT-4.7.2-1]: %w", m.Topic, ErrUnexpected)
		}
		if m.Topic == sentinel {
			return nil
		}
	}
}
