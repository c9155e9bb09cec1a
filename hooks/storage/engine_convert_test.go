package storage

import (
	"reflect"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/persist"
)

// normalize makes empty byte slices and lists nil (the record codec does not
// tell them apart).
func normalize(m *ext.StoredMessage) {
	if len(m.Payload) == 0 {
		m.Payload = nil
	}
	if len(m.Props.CorrelationData) == 0 {
		m.Props.CorrelationData = nil
	}
	if len(m.Props.User) == 0 {
		m.Props.User = nil
	}
}

// FuzzEngineConvert: a session with a will and a retained message survive
// conversion to persist records, their binary encoding and back, with every
// property the store keeps.
func FuzzEngineConvert(f *testing.F) {
	f.Add("t/1", []byte("p"), "text/plain", "r", []byte{1}, "k", "v", true, uint32(60), byte(2), int64(1700000000000), int64(5000))
	f.Add("", []byte{}, "", "", []byte{}, "", "", false, uint32(0), byte(0), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, topic string, payload []byte, ct, rt string, corr []byte, uk, uv string, utf8 bool, exp uint32, qos byte, created, ttl int64) {
		qos %= 3
		created = max(created, 0) % (1 << 50)
		ttl = max(ttl, 0) % (1 << 40)
		props := packets.Properties{ContentType: ct, ResponseTopic: rt, CorrelationData: corr}
		if utf8 {
			props.PayloadFormat, props.PayloadFormatFlag = 1, true
		}
		if uk != "" || uv != "" {
			props.User = []packets.UserProperty{{Key: uk, Val: uv}, {Key: uv, Val: uk}}
		}
		will := &ext.Will{StoredMessage: ext.StoredMessage{Topic: topic, Payload: payload, Props: props, QoS: qos, Retain: utf8, Origin: "c"}, Delay: exp / 2}
		will.Props.MessageExpiryInterval = exp
		s := ext.Session{ClientID: "c", Username: uk, ProtocolVersion: 3 + qos, Expiry: exp, DisconnectedAt: created, Will: will}
		rec := sessionFromExt(&s)
		b, err := rec.MarshalBinary()
		if err != nil {
			t.Fatalf("encode %+v: %v", rec, err)
		}
		var back persist.Session
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		got := extSession(&back)
		normalize(&got.Will.StoredMessage)
		normalize(&s.Will.StoredMessage)
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("session\n got %+v\nwant %+v", got, s)
		}

		m := ext.StoredMessage{Topic: topic, Payload: payload, Props: props, QoS: qos, Retain: true, Origin: uv, Created: created}
		if ttl > 0 {
			m.ExpiresAt = created + ttl
		}
		mr := retainedRecord(&m, created)
		b, err = mr.MarshalBinary()
		if err != nil {
			t.Fatalf("encode %+v: %v", mr, err)
		}
		var mb persist.Message
		if err := mb.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		gm := storedMessage(&mb)
		normalize(&gm)
		normalize(&m)
		if !reflect.DeepEqual(gm, m) {
			t.Fatalf("message\n got %+v\nwant %+v", gm, m)
		}
	})
}
