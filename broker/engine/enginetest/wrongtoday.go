package enginetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"
)

// WrongToday returns issue 17's "MQTT behaviours that are wrong today": one
// or more checks per bullet. Each failed on imqtt's mochi path (proved by
// broker/mochipath_checks_test.go until that path was deleted in issue 17;
// docs/CONFORMANCE.md records how) and must pass on the engine.
func WrongToday() []Check {
	return []Check{
		{Name: "will-keeps-all-properties", Rule: "MQTT-3.1.3-10, 3.1.3.2", Run: checkWillKeepsAllProperties},
		{Name: "will-zero-length-payload", Rule: "MQTT-3.1.3-3, 3.1.3.4", Run: checkWillEmptyPayload},
		{Name: "session-expiry-from-disconnect", Rule: "5.0 3.14.2.2.2, MQTT-3.1.2-23", Run: checkSessionExpiryFromDisconnect},
		{Name: "expired-session-gone-at-connect", Rule: "MQTT-3.1.2-23, MQTT-3.2.2-2", Run: checkExpiredSessionGone},
		{Name: "unknown-topic-alias-0x82", Rule: "MQTT-3.3.2-8, 5.0 3.3.2.3.4", Run: checkUnknownTopicAlias},
		{Name: "invalid-utf8-topic-0x81", Rule: "MQTT-1.5.4-1, 4.13.2", Run: checkInvalidUTF8Topic},
		{Name: "invalid-utf8-filter-0x81", Rule: "MQTT-1.5.4-1, 4.13.2", Run: checkInvalidUTF8Filter},
		{Name: "outbound-qos2-receive-max-1", Rule: "MQTT-4.3.3-8, MQTT-3.3.4-9", Run: checkOutboundQoS2RM(1)},
		{Name: "outbound-qos2-receive-max-2", Rule: "MQTT-4.3.3-8, MQTT-3.3.4-9", Run: checkOutboundQoS2RM(2)},
		{Name: "retained-expired-not-delivered", Rule: "MQTT-3.3.2-5", Run: checkRetainedExpired},
		{Name: "zero-expiry-v5-taken-over-leaves-nothing", Rule: "MQTT-3.1.2-23, MQTT-3.1.4-3", Run: checkZeroExpiryTakeover},
	}
}

// willConnect is a v5 CONNECT with a QoS 1 will on topic.
func willConnect(id, topic string, payload []byte, props packets.Properties) packets.Packet {
	pk := connectPacket(5, id, true)
	pk.Connect.WillFlag = true
	pk.Connect.WillQos = 1
	pk.Connect.WillTopic = topic
	pk.Connect.WillPayload = payload
	pk.Connect.WillProperties = props
	return pk
}

// willWatcher subscribes a paho client to topic at QoS 1.
func willWatcher(tg Target, topic string) (*client, error) {
	w, err := connectV5(tg, "will-watch")
	if err != nil {
		return nil, err
	}
	if err := w.sub1(topic, 1); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func checkWillKeepsAllProperties(tg Target) error {
	topic := uniq("will/props")
	w, err := willWatcher(tg, topic)
	if err != nil {
		return err
	}
	defer w.close()
	c, err := dialRaw(tg, 5)
	if err != nil {
		return err
	}
	defer c.close()
	props := packets.Properties{
		User:                  []packets.UserProperty{{Key: "k1", Val: "v1"}, {Key: "k2", Val: "v2"}},
		ContentType:           "text/plain",
		ResponseTopic:         topic + "/reply",
		CorrelationData:       []byte{1, 2, 3},
		PayloadFormat:         1,
		PayloadFormatFlag:     true,
		MessageExpiryInterval: 600,
	}
	if _, err := c.connect(willConnect(uniq("will-props"), topic, []byte("gone"), props)); err != nil {
		return err
	}
	c.close() // no DISCONNECT: the will is published
	m, err := w.expectMsg(topic, "gone")
	if err != nil {
		return err
	}
	var missing []string
	p := m.Properties
	if p == nil {
		p = &paho.PublishProperties{}
	}
	if !slices.Equal(userProps(p.User), []string{"k1=v1", "k2=v2"}) {
		missing = append(missing, fmt.Sprintf("user properties %v", userProps(p.User)))
	}
	if p.ContentType != props.ContentType {
		missing = append(missing, fmt.Sprintf("content type %q", p.ContentType))
	}
	if p.ResponseTopic != props.ResponseTopic {
		missing = append(missing, fmt.Sprintf("response topic %q", p.ResponseTopic))
	}
	if !bytes.Equal(p.CorrelationData, props.CorrelationData) {
		missing = append(missing, fmt.Sprintf("correlation data %x", p.CorrelationData))
	}
	if p.PayloadFormat == nil || *p.PayloadFormat != 1 {
		missing = append(missing, "payload format indicator")
	}
	if p.MessageExpiry == nil || *p.MessageExpiry == 0 || *p.MessageExpiry > 600 {
		missing = append(missing, fmt.Sprintf("message expiry %v", derefU32(p.MessageExpiry)))
	}
	if len(missing) > 0 {
		return fmt.Errorf("will delivered without its properties: %v: %w", missing, ErrUnexpected)
	}
	return nil
}

func userProps(u paho.UserProperties) []string {
	var s []string
	for _, p := range u {
		s = append(s, p.Key+"="+p.Value)
	}
	return s
}

func derefU32(p *uint32) any {
	if p == nil {
		return "absent"
	}
	return *p
}

func checkWillEmptyPayload(tg Target) error {
	topic := uniq("will/empty")
	w, err := willWatcher(tg, topic)
	if err != nil {
		return err
	}
	defer w.close()
	for _, v := range []byte{4, 5} {
		c, err := dialRaw(tg, v)
		if err != nil {
			return err
		}
		pk := willConnect(uniq("will-empty"), topic, nil, packets.Properties{})
		pk.ProtocolVersion = v
		if _, err := c.connect(pk); err != nil {
			c.close()
			return fmt.Errorf("v%d CONNECT with a zero-length will: %w", v, err)
		}
		c.close()
		m, err := w.next(ioTimeout)
		if err != nil {
			return fmt.Errorf("v%d zero-length will not published: %w", v, err)
		}
		if m.Topic != topic || len(m.Payload) != 0 {
			return fmt.Errorf("v%d will: got %q on %q: %w", v, m.Payload, m.Topic, ErrUnexpected)
		}
	}
	return nil
}

func checkWillOnDisconnect04(tg Target) error {
	// a clean session, a persistent one (expiry 60) and a will delay of 1 s
	for _, v := range []struct {
		name          string
		expiry, delay uint32
	}{{"expiry 0", 0, 0}, {"expiry 60", 60, 0}, {"expiry 60, will delay 1", 60, 1}} {
		if err := willOnDisconnect04(tg, v.expiry, v.delay); err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
	}
	return nil
}

func willOnDisconnect04(tg Target, expiry, delay uint32) error {
	topic := uniq("will/dc04")
	w, err := willWatcher(tg, topic)
	if err != nil {
		return err
	}
	defer w.close()
	c, err := dialRaw(tg, 5)
	if err != nil {
		return err
	}
	defer c.close()
	id := uniq("will-dc04")
	pk := willConnect(id, topic, []byte("bye"), packets.Properties{WillDelayInterval: delay})
	pk.Properties.SessionExpiryInterval = expiry
	pk.Properties.SessionExpiryIntervalFlag = expiry > 0
	if _, err := c.connect(pk); err != nil {
		return err
	}
	if err := c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}, ReasonCode: 0x04,
		Properties: packets.Properties{SessionExpiryIntervalFlag: expiry > 0}}); err != nil {
		return err
	}
	if _, err := w.expectMsg(topic, "bye"); err != nil {
		return fmt.Errorf("DISCONNECT 0x04 did not publish the will: %w", err)
	}
	return nil
}

// persistentSub connects a v5 client with clean start and the given expiry,
// subscribes to filter at QoS 1 and returns it connected.
func persistentSub(tg Target, id, filter string, expiry uint32) (*raw, error) {
	c, err := dialRaw(tg, 5)
	if err != nil {
		return nil, err
	}
	pk := connectPacket(5, id, true)
	pk.Properties.SessionExpiryInterval = expiry
	pk.Properties.SessionExpiryIntervalFlag = true
	if _, err := c.connect(pk); err != nil {
		c.close()
		return nil, err
	}
	if err := c.subscribe(1, packets.Properties{}, packets.Subscription{Filter: filter, Qos: 1}); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// resume reconnects id with clean start false (version v, expiry 60 on v5)
// and returns the CONNACK's session present flag; the connection is closed.
func resume(tg Target, v byte, id string) (bool, error) {
	c, err := dialRaw(tg, v)
	if err != nil {
		return false, err
	}
	defer c.close()
	pk := connectPacket(v, id, false)
	if v == 5 {
		pk.Properties.SessionExpiryInterval = 60
		pk.Properties.SessionExpiryIntervalFlag = true
	}
	ack, err := c.connect(pk)
	if err != nil {
		return false, err
	}
	// leave nothing behind: v5 ends with expiry 0, 3.1.1 reconnects clean
	_ = c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect},
		Properties: packets.Properties{SessionExpiryIntervalFlag: v == 5}})
	if v == 4 {
		if cc, err := dialRaw(tg, 4); err == nil {
			if _, err := cc.connect(connectPacket(4, id, true)); err == nil {
				_ = cc.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
			}
			cc.close()
		}
	}
	return ack.SessionPresent, nil
}

// startOfSecond waits until just after the next wall-clock second begins.
// The expiry checks end a session there and reconnect 1.5 s later, so a
// broker that counts whole seconds (or expires sessions on a 1 s ticker)
// still holds a session whose 1 s interval has passed by half a second.
func startOfSecond() {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second + 50*time.Millisecond).Sub(now))
}

// endAndResume ends c with a DISCONNECT carrying props at the start of a
// second, waits wait and reports whether id's session is still present.
func endAndResume(tg Target, c *raw, id string, props packets.Properties, wait time.Duration) (bool, error) {
	startOfSecond()
	err := c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}, Properties: props})
	c.close()
	if err != nil {
		return false, err
	}
	time.Sleep(wait) // the interval under test, not synchronisation
	return resume(tg, 5, id)
}

func checkSessionExpiryFromDisconnect(tg Target) error {
	// lowered: CONNECT 60, DISCONNECT 1 ([MQTT-3.14.2-2] allows any change
	// from a non-zero value); gone 1.5 s later
	id := uniq("sei-dc")
	c, err := persistentSub(tg, id, uniq("sei/dc"), 60)
	if err != nil {
		return err
	}
	present, err := endAndResume(tg, c, id, packets.Properties{SessionExpiryInterval: 1, SessionExpiryIntervalFlag: true}, 1500*time.Millisecond)
	if err != nil {
		return err
	}
	if present {
		return fmt.Errorf("session present 1, 1.5 s after DISCONNECT set Session Expiry 1 (CONNECT said 60): %w", ErrUnexpected)
	}
	// raised: CONNECT 1, DISCONNECT 60; still there 1.5 s later
	id = uniq("sei-dc-up")
	if c, err = persistentSub(tg, id, uniq("sei/dc"), 1); err != nil {
		return err
	}
	present, err = endAndResume(tg, c, id, packets.Properties{SessionExpiryInterval: 60, SessionExpiryIntervalFlag: true}, 1500*time.Millisecond)
	if err != nil {
		return err
	}
	if !present {
		return fmt.Errorf("session present 0, 1.5 s after DISCONNECT set Session Expiry 60 (CONNECT said 1): %w", ErrUnexpected)
	}
	return nil
}

func checkExpiredSessionGone(tg Target) error {
	id := uniq("sei-exp")
	c, err := persistentSub(tg, id, uniq("sei/exp"), 1)
	if err != nil {
		return err
	}
	present, err := endAndResume(tg, c, id, packets.Properties{}, 1500*time.Millisecond)
	if err != nil {
		return err
	}
	if present {
		return fmt.Errorf("session present 1, 1.5 s after a session with expiry 1 s ended: %w", ErrUnexpected)
	}
	return nil
}

func checkUnknownTopicAlias(tg Target) error {
	for _, qos := range []byte{0, 1} {
		c, err := dialRaw(tg, 5)
		if err != nil {
			return err
		}
		if _, err := c.connect(connectPacket(5, uniq("alias-unknown"), true)); err != nil {
			c.close()
			return err
		}
		pk := publishPacket("", qos, 1, []byte("x"))
		pk.Properties.TopicAlias = 7
		pk.Properties.TopicAliasFlag = true
		err = c.send(pk)
		if err == nil {
			err = c.expectDisconnect(0x82, ioTimeout)
		}
		c.close()
		if err != nil {
			return fmt.Errorf("QoS %d PUBLISH with empty topic and unmapped alias 7: %w", qos, err)
		}
	}
	return nil
}

// rawPublishInvalidUTF8 is a QoS 0 PUBLISH to "bad/\xff" (v5 with an empty
// property length).
func rawPublishInvalidUTF8(v byte) []byte {
	topic := []byte("bad/\xff")
	body := append([]byte{0, byte(len(topic))}, topic...)
	if v == 5 {
		body = append(body, 0)
	}
	body = append(body, 'x')
	return append([]byte{0x30, byte(len(body))}, body...)
}

// rawSubscribeInvalidUTF8 is SUBSCRIBE id 1 to "bad/\xc3(" QoS 0.
func rawSubscribeInvalidUTF8(v byte) []byte {
	filter := []byte("bad/\xc3(")
	body := []byte{0, 1}
	if v == 5 {
		body = append(body, 0)
	}
	body = append(body, 0, byte(len(filter)))
	body = append(body, filter...)
	body = append(body, 0)
	return append([]byte{0x82, byte(len(body))}, body...)
}

func checkInvalidUTF8(tg Target, pkt []byte, what string) error {
	c, err := dialRaw(tg, 5)
	if err != nil {
		return err
	}
	defer c.close()
	if _, err := c.connect(connectPacket(5, uniq("utf8"), true)); err != nil {
		return err
	}
	if err := c.write(pkt); err != nil {
		return err
	}
	if err := c.expectDisconnect(0x81, ioTimeout); err != nil {
		return fmt.Errorf("%s with invalid UTF-8: %w", what, err)
	}
	return nil
}

func checkInvalidUTF8Topic(tg Target) error {
	return checkInvalidUTF8(tg, rawPublishInvalidUTF8(5), "PUBLISH topic")
}

func checkInvalidUTF8Filter(tg Target) error {
	return checkInvalidUTF8(tg, rawSubscribeInvalidUTF8(5), "SUBSCRIBE filter")
}

// checkOutboundQoS2RM: a raw subscriber with Receive Maximum rm gets n QoS 2
// messages from one publisher and asserts what the spec requires, not one
// interleaving: the PUBLISHes arrive in the order published [MQTT-4.6.0-6]
// (the server may send the next before the PUBREL of the previous: rm in
// flight is what the client allowed); no more than rm are unacknowledged (no
// PUBCOMP sent yet) at any time [MQTT-3.3.4-9]; each PUBREC is answered by a
// PUBREL for that id with reason 0, never 0x92 Packet Identifier not found
// [MQTT-4.3.3-8]; all n flows complete. Each session expiry runs twice: the
// subscriber answers as packets arrive, then (slow) it reads only once the
// publisher is done, so the server must hold back all but rm messages.
func checkOutboundQoS2RM(rm uint16) func(Target) error {
	return func(tg Target) error {
		for _, expiry := range []uint32{0, 60} {
			for _, slow := range []bool{false, true} {
				if err := outboundQoS2RM(tg, rm, expiry, slow); err != nil {
					return fmt.Errorf("session expiry %d, slow subscriber %v: %w", expiry, slow, err)
				}
			}
		}
		return nil
	}
}

func outboundQoS2RM(tg Target, rm uint16, expiry uint32, slow bool) error {
	{
		const n = 10
		topic := uniq("rm/qos2")
		s, err := dialRaw(tg, 5)
		if err != nil {
			return err
		}
		defer s.close()
		cp := connectPacket(5, uniq("rm-sub"), true)
		cp.Properties.ReceiveMaximum = rm
		cp.Properties.SessionExpiryInterval = expiry
		cp.Properties.SessionExpiryIntervalFlag = true
		if _, err := s.connect(cp); err != nil {
			return err
		}
		if err := s.subscribe(1, packets.Properties{}, packets.Subscription{Filter: topic, Qos: 2}); err != nil {
			return err
		}
		p, err := connectV5(tg, "rm-pub")
		if err != nil {
			return err
		}
		defer p.close()
		pubErr := make(chan error, 1)
		go func() {
			for i := range n {
				if err := p.pub(&paho.Publish{Topic: topic, QoS: 2, Payload: fmt.Appendf(nil, "m%d", i)}); err != nil {
					pubErr <- err
					return
				}
			}
			pubErr <- nil
		}()
		waitPub := func() error {
			select {
			case err := <-pubErr:
				return err
			case <-time.After(ioTimeout):
				return fmt.Errorf("publisher not done: %w", ErrTimeout)
			}
		}
		if slow {
			if err := waitPub(); err != nil {
				return err
			}
		}
		published, completed := 0, 0 // PUBLISHes received in order; flows completed
		unacked := map[uint16]bool{} // PUBREC sent, PUBCOMP not yet
		for completed < n {
			pk, err := s.read(ioTimeout)
			if err != nil {
				return fmt.Errorf("after %d of %d messages, %d complete (receive maximum %d): %w", published, n, completed, rm, err)
			}
			switch pk.FixedHeader.Type {
			case packets.Publish:
				if pk.FixedHeader.Dup && unacked[pk.PacketID] {
					// A re-send of a PUBLISH already received: PUBREC again.
					if err := s.send(ackPacket(packets.Pubrec, pk.PacketID)); err != nil {
						return err
					}
					continue
				}
				if want := fmt.Sprintf("m%d", published); string(pk.Payload) != want {
					return fmt.Errorf("PUBLISH %q, want %q: not in the order published [MQTT-4.6.0-6]: %w", pk.Payload, want, ErrUnexpected)
				}
				if unacked[pk.PacketID] {
					return fmt.Errorf("PUBLISH %q reuses id %d, still in flight: %w", pk.Payload, pk.PacketID, ErrUnexpected)
				}
				published++
				unacked[pk.PacketID] = true
				if len(unacked) > int(rm) {
					return fmt.Errorf("%d unacknowledged QoS 2 PUBLISHes with receive maximum %d [MQTT-3.3.4-9]: %w", len(unacked), rm, ErrUnexpected)
				}
				if err := s.send(ackPacket(packets.Pubrec, pk.PacketID)); err != nil {
					return err
				}
			case packets.Pubrel:
				if pk.ReasonCode != 0 {
					return fmt.Errorf("PUBREL id %d reason %#x after %d messages, %d complete (receive maximum %d) [MQTT-4.3.3-8]: %w", pk.PacketID, pk.ReasonCode, published, completed, rm, ErrUnexpected)
				}
				if !unacked[pk.PacketID] {
					return fmt.Errorf("PUBREL id %d without a PUBREC in flight (receive maximum %d): %w", pk.PacketID, rm, ErrUnexpected)
				}
				delete(unacked, pk.PacketID)
				if err := s.send(ackPacket(packets.Pubcomp, pk.PacketID)); err != nil {
					return err
				}
				completed++
			default:
				return fmt.Errorf("subscriber got %s: %w", describe(pk), ErrUnexpected)
			}
		}
		_ = s.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect},
			Properties: packets.Properties{SessionExpiryIntervalFlag: true}})
		if slow {
			return nil
		}
		return waitPub()
	}
}

func checkRetainedExpired(tg Target) error {
	base := uniq("ret/exp")
	p, err := connectV5(tg, "ret-exp-pub")
	if err != nil {
		return err
	}
	defer p.close()
	startOfSecond()
	if err := p.pub(&paho.Publish{Topic: base + "/short", QoS: 1, Retain: true, Payload: []byte("expired"),
		Properties: &paho.PublishProperties{MessageExpiry: u32(1)}}); err != nil {
		return err
	}
	if err := p.pub(&paho.Publish{Topic: base + "/keep", QoS: 1, Retain: true, Payload: []byte("kept")}); err != nil {
		return err
	}
	defer func() { // clear the one that should stay
		_ = p.pub(&paho.Publish{Topic: base + "/keep", QoS: 1, Retain: true})
	}()
	time.Sleep(1500 * time.Millisecond) // the expiry itself: 1 s plus margin
	s, err := connectV5(tg, "ret-exp-sub")
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.sub1(base+"/#", 1); err != nil {
		return err
	}
	// both retained messages come right after SUBACK; a live sentinel after them
	if err := p.pub(&paho.Publish{Topic: base + "/live", QoS: 1, Payload: []byte("live")}); err != nil {
		return err
	}
	var got []string
	for {
		m, err := s.next(ioTimeout)
		if err != nil {
			return fmt.Errorf("after %v: %w", got, err)
		}
		got = append(got, string(m.Payload))
		if string(m.Payload) == "live" {
			break
		}
	}
	if !slices.Equal(got, []string{"kept", "live"}) {
		return fmt.Errorf("new subscriber got %v, want [kept live] (the retained message with expiry 1 s is 1.5 s old): %w", got, ErrUnexpected)
	}
	return nil
}

func checkRemainingExpiry(tg Target) error {
	id := uniq("rem-exp")
	topic := uniq("rem/exp")
	c, err := persistentSub(tg, id, topic, 60)
	if err != nil {
		return err
	}
	err = c.disconnectAndWait()
	c.close()
	if err != nil {
		return err
	}
	p, err := connectV5(tg, "rem-exp-pub")
	if err != nil {
		return err
	}
	defer p.close()
	if err := p.pub(&paho.Publish{Topic: topic, QoS: 1, Payload: []byte("ttl"),
		Properties: &paho.PublishProperties{MessageExpiry: u32(30)}}); err != nil {
		return err
	}
	time.Sleep(2200 * time.Millisecond) // let at least 2 whole seconds pass
	r, err := dialRaw(tg, 5)
	if err != nil {
		return err
	}
	defer r.close()
	cp := connectPacket(5, id, false)
	cp.Properties.SessionExpiryIntervalFlag = true // expiry 0: nothing left behind
	ack, err := r.connect(cp)
	if err != nil {
		return err
	}
	if !ack.SessionPresent {
		return fmt.Errorf("persistent session (expiry 60) not present: %w", ErrUnexpected)
	}
	m, _, err := r.expect(packets.Publish, ioTimeout)
	if err != nil {
		return fmt.Errorf("queued message: %w", err)
	}
	if m.FixedHeader.Qos > 0 {
		_ = r.send(ackPacket(packets.Puback, m.PacketID))
	}
	if e := m.Properties.MessageExpiryInterval; e == 0 || e > 28 {
		return fmt.Errorf("message sent with expiry 30 delivered after 2.2 s with expiry %d, want 1..28: %w", e, ErrUnexpected)
	}
	return nil
}

func checkRetainedRemainingExpiry(tg Target) error {
	topic := uniq("ret/rem")
	p, err := connectV5(tg, "ret-rem-pub")
	if err != nil {
		return err
	}
	defer p.close()
	if err := p.pub(&paho.Publish{Topic: topic, QoS: 1, Retain: true, Payload: []byte("ttl"),
		Properties: &paho.PublishProperties{MessageExpiry: u32(30)}}); err != nil {
		return err
	}
	defer func() { _ = p.pub(&paho.Publish{Topic: topic, QoS: 1, Retain: true}) }()
	time.Sleep(2200 * time.Millisecond) // let at least 2 whole seconds pass
	s, err := connectV5(tg, "ret-rem-sub")
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.sub1(topic, 1); err != nil {
		return err
	}
	m, err := s.expectMsg(topic, "ttl")
	if err != nil {
		return err
	}
	if m.Properties == nil || m.Properties.MessageExpiry == nil || *m.Properties.MessageExpiry == 0 || *m.Properties.MessageExpiry > 28 {
		var e any = "absent"
		if m.Properties != nil {
			e = derefU32(m.Properties.MessageExpiry)
		}
		return fmt.Errorf("retained message sent with expiry 30 delivered 2.2 s later with expiry %v, want 1..28: %w", e, ErrUnexpected)
	}
	return nil
}

// checkZeroExpiryTakeover: a v5 session with expiry 0 ends when its
// connection is closed, here by the takeover [MQTT-3.1.4-3]; the taking-over
// CONNECT with clean start 0 finds no session (mosquitto: the same).
func checkZeroExpiryTakeover(tg Target) error {
	id := uniq("zero-takeover")
	old, err := dialRaw(tg, 5)
	if err != nil {
		return err
	}
	defer old.close()
	if _, err := old.connect(connectPacket(5, id, true)); err != nil {
		return err
	}
	if err := old.subscribe(1, packets.Properties{}, packets.Subscription{Filter: uniq("zero/x"), Qos: 1}); err != nil {
		return err
	}
	present, err := resume(tg, 5, id)
	if err != nil {
		return err
	}
	if present {
		return fmt.Errorf("clean start 0 taking over a session with expiry 0 got session present 1: %w", ErrUnexpected)
	}
	return nil
}

// checkCleanDroppedLeavesNothing: a clean 3.1.1 session whose connection
// drops (no DISCONNECT) leaves nothing behind either.
func checkCleanDroppedLeavesNothing(tg Target) error {
	id := uniq("clean-drop")
	c, err := dialRaw(tg, 4)
	if err != nil {
		return err
	}
	if _, err := c.connect(connectPacket(4, id, true)); err != nil {
		c.close()
		return err
	}
	err = c.subscribe(1, packets.Properties{}, packets.Subscription{Filter: uniq("clean/x"), Qos: 1})
	c.close()
	if err != nil {
		return err
	}
	present, err := resume(tg, 4, id)
	if err != nil {
		return err
	}
	if present {
		return fmt.Errorf("persistent CONNECT after a dropped clean 3.1.1 session got session present 1: %w", ErrUnexpected)
	}
	return nil
}

// checkCleanLeavesNothing: a clean 3.1.1 session (v 4) or a clean-start v5
// session with expiry 0 (v 5) subscribes and leaves; a persistent CONNECT
// with the same id must find no session.
func checkCleanLeavesNothing(v byte) func(Target) error {
	return func(tg Target) error {
		id := uniq(fmt.Sprintf("clean-v%d", v))
		c, err := dialRaw(tg, v)
		if err != nil {
			return err
		}
		if _, err := c.connect(connectPacket(v, id, true)); err != nil {
			c.close()
			return err
		}
		err = c.subscribe(1, packets.Properties{}, packets.Subscription{Filter: uniq("clean/x"), Qos: 1})
		startOfSecond() // a broker that expires on a 1 s tick still holds it
		if err == nil {
			err = c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
		}
		c.close()
		if err != nil {
			return err
		}
		// The old connection ended with DISCONNECT before this CONNECT was
		// sent; even if the broker sees the CONNECT first (a takeover), the
		// session it takes over was clean: session present 0 either way.
		present, err := resume(tg, v, id)
		if err != nil {
			return err
		}
		if present {
			return fmt.Errorf("v%d: persistent CONNECT after a clean session got session present 1: %w", v, ErrUnexpected)
		}
		return nil
	}
}

var _ = errors.Is
