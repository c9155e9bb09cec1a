package engine

import (
	"time"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/mochi-mqtt/server/v2/packets"
)

// will is a CONNECT's Will Message, kept with every property
// [MQTT-3.1.3-10 ff.]; its expiry starts when it is published.
type will struct {
	m      message // the template: expiresAt unset
	expiry uint32  // Message Expiry Interval of the will, seconds
	delay  uint32  // Will Delay Interval, seconds [MQTT-3.1.3-9]
	info   *ext.Client
}

// newWill copies the will out of a decoded CONNECT. A zero-length payload is
// valid [MQTT-3.1.2-9 allows it; only the flag matters].
func newWill(pk *packets.Packet, info *ext.Client) *will {
	c := &pk.Connect
	m := newMessage(c.WillTopic, c.WillPayload, &c.WillProperties, c.WillQos, c.WillRetain, 0, time.Time{})
	m.expiresAt = 0
	return &will{m: *m, expiry: c.WillProperties.MessageExpiryInterval, delay: c.WillProperties.WillDelayInterval, info: info}
}

// publishWill publishes w now, as its client would: the Authorizer judges the
// topic again (ext.AccessPublish).
func (e *Engine) publishWill(w *will) {
	if w == nil || e.closed() {
		return
	}
	if !e.acl.Allow(w.info, w.m.topic, ext.AccessPublish) {
		e.log.Debug().Str(logfield.ClientID, w.info.ID).Str(logfield.Topic, w.m.topic).Msg("will not authorized")
		return
	}
	m := w.m
	t := now()
	exp := time.Duration(w.expiry) * time.Second
	if max := e.cfg.MaxMessageExpiry; max > 0 && (exp == 0 || exp > max) {
		exp = max
	}
	if exp > 0 {
		m.expiresAt = t.Add(exp).Unix()
	}
	_, dp := e.route(nil, nil, &m)
	e.commitAsync(&m, dp)
	e.forward(nil, nil, &m)
}
