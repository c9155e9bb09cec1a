package enginetest

import (
	"fmt"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"
)

// checkWillDelay: a will with Will Delay 2 s (session expiry 10) is published
// no sooner than 2 s after the connection drops and within 2 s more
// [MQTT-3.1.3-9], 3.1.2.5.
func checkWillDelay(tg Target) error {
	topic := uniq("will/delay")
	w, err := willWatcher(tg, topic)
	if err != nil {
		return err
	}
	defer w.close()
	c, err := dialRaw(tg, 5)
	if err != nil {
		return err
	}
	pk := willConnect(uniq("will-delay"), topic, []byte("late"), packets.Properties{WillDelayInterval: 2})
	pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 10, true
	if _, err := c.connect(pk); err != nil {
		c.close()
		return err
	}
	start := time.Now()
	c.close()
	if _, err := w.expectMsg(topic, "late"); err != nil {
		return err
	}
	if d := time.Since(start); d < 1500*time.Millisecond || d > 4*time.Second {
		return fmt.Errorf("will with delay 2 s published after %s: %w", d.Round(time.Millisecond), ErrUnexpected)
	}
	return nil
}

// checkNoWillOnNormalDisconnect: DISCONNECT 0x00 discards the will
// [MQTT-3.1.2-10]; a sentinel on the will topic is the next message.
func checkNoWillOnNormalDisconnect(tg Target) error {
	topic := uniq("will/none")
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
		pk := willConnect(uniq("will-none"), topic, []byte("will"), packets.Properties{})
		pk.ProtocolVersion = v
		if _, err := c.connect(pk); err != nil {
			c.close()
			return err
		}
		err = c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
		if err == nil {
			err = c.expectClosed(ioTimeout) // the broker processed the DISCONNECT
		}
		c.close()
		if err != nil {
			return err
		}
		if err := w.pub(&paho.Publish{Topic: topic, QoS: 1, Payload: []byte("sentinel")}); err != nil {
			return err
		}
		if _, err := w.expectMsg(topic, "sentinel"); err != nil {
			return fmt.Errorf("v%d: will published after a normal DISCONNECT? %w", v, err)
		}
	}
	return nil
}

// checkTakeover0x8E: a second CONNECT with a connected client's id gets
// CONNACK 0 and the first connection DISCONNECT 0x8E [MQTT-3.1.4-3].
func checkTakeover0x8E(tg Target) error {
	id := uniq("takeover")
	old, err := dialRaw(tg, 5)
	if err != nil {
		return err
	}
	defer old.close()
	if _, err := old.connect(connectPacket(5, id, true)); err != nil {
		return err
	}
	nc, err := dialRaw(tg, 5)
	if err != nil {
		return err
	}
	defer nc.close()
	if _, err := nc.connect(connectPacket(5, id, true)); err != nil {
		return fmt.Errorf("taking-over CONNECT: %w", err)
	}
	if err := old.expectDisconnect(0x8E, ioTimeout); err != nil {
		return fmt.Errorf("taken-over connection: %w", err)
	}
	if err := old.expectClosed(ioTimeout); err != nil {
		return fmt.Errorf("taken-over connection after DISCONNECT: %w", err)
	}
	if err := nc.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}}); err != nil {
		return err
	}
	_, _, err = nc.expect(packets.Pingresp, ioTimeout)
	return err
}

// checkKeepaliveTimeout: a client silent for 1.5 x its keepalive (1 s) is
// disconnected and its will published [MQTT-3.1.2-22].
func checkKeepaliveTimeout(tg Target) error {
	topic := uniq("will/ka")
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
	pk := willConnect(uniq("ka"), topic, []byte("timeout"), packets.Properties{})
	pk.Connect.Keepalive = 1
	ack, err := c.connect(pk)
	if err != nil {
		return err
	}
	ka := time.Second
	if ack.Properties.ServerKeepAliveFlag {
		ka = time.Duration(ack.Properties.ServerKeepAlive) * time.Second
	}
	if ka == 0 || ka > 5*time.Second {
		return fmt.Errorf("server keep alive %s for a requested 1 s; this check needs <= 5 s: %w", ka, ErrUnexpected)
	}
	start := time.Now()
	if err := c.expectClosed(ka*3/2 + ioTimeout); err != nil {
		return fmt.Errorf("silent client with keepalive %s: %w", ka, err)
	}
	if d := time.Since(start); d < ka {
		return fmt.Errorf("closed after %s, before the keepalive %s: %w", d, ka, ErrUnexpected)
	}
	if _, err := w.expectMsg(topic, "timeout"); err != nil {
		return fmt.Errorf("will after keepalive timeout: %w", err)
	}
	return nil
}

// checkPing: PINGREQ gets PINGRESP on 3.1.1 and 5.0 [MQTT-3.12.4-1].
func checkPing(tg Target) error {
	for _, v := range []byte{4, 5} {
		c, err := dialRaw(tg, v)
		if err != nil {
			return err
		}
		_, err = c.connect(connectPacket(v, uniq("ping"), true))
		for i := 0; err == nil && i < 3; i++ {
			if err = c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}}); err == nil {
				_, _, err = c.expect(packets.Pingresp, ioTimeout)
			}
		}
		c.close()
		if err != nil {
			return fmt.Errorf("v%d: %w", v, err)
		}
	}
	return nil
}

// checkFirstPacketNotConnect: a connection whose first packet is not CONNECT
// is closed without an answer [MQTT-3.1.0-1].
func checkFirstPacketNotConnect(tg Target) error {
	c, err := dialRaw(tg, 5)
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.send(publishPacket(uniq("early"), 0, 0, []byte("x"))); err != nil {
		return err
	}
	return c.expectClosed(ioTimeout)
}

// checkSecondConnect: a second CONNECT on a connection is a protocol error
// [MQTT-3.1.0-2]: v5 DISCONNECT 0x82 or a close.
func checkSecondConnect(tg Target) error {
	c, err := dialRaw(tg, 5)
	if err != nil {
		return err
	}
	defer c.close()
	pk := connectPacket(5, uniq("twice"), true)
	if _, err := c.connect(pk); err != nil {
		return err
	}
	if err := c.send(pk); err != nil {
		return err
	}
	return c.expectClosed(ioTimeout)
}

// checkInvalidUTF8V311: a 3.1.1 PUBLISH with an invalid UTF-8 topic closes
// the connection [MQTT-1.5.3-1] and is not delivered.
func checkInvalidUTF8V311(tg Target) error {
	c, err := dialRaw(tg, 4)
	if err != nil {
		return err
	}
	defer c.close()
	if _, err := c.connect(connectPacket(4, uniq("utf8-v311"), true)); err != nil {
		return err
	}
	if err := c.write(rawPublishInvalidUTF8(4)); err != nil {
		return err
	}
	return c.expectClosed(ioTimeout)
}

// checkUnsubscribeStops: after UNSUBSCRIBE no message of that filter
// arrives; a sentinel on another subscription is the next message.
func checkUnsubscribeStops(tg Target) error {
	topic := uniq("unsub")
	c, err := connectV5(tg, "unsub")
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.sub1(topic+"/a", 1); err != nil {
		return err
	}
	if err := c.sub1(topic+"/b", 1); err != nil {
		return err
	}
	ctx, cancel := ctxIO()
	defer cancel()
	ua, err := c.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{topic + "/a"}})
	if err != nil {
		return err
	}
	if len(ua.Reasons) != 1 || ua.Reasons[0] != 0 {
		return fmt.Errorf("UNSUBACK reasons %x: %w", ua.Reasons, ErrUnexpected)
	}
	for _, t := range []string{topic + "/a", topic + "/b"} {
		if err := c.pub(&paho.Publish{Topic: t, QoS: 1, Payload: []byte(t)}); err != nil {
			return err
		}
	}
	_, err = c.expectMsg(topic+"/b", topic+"/b")
	return err
}
