package storage

import (
	"sort"

	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/persist"
)

// messageFromPacket converts a PUBLISH into a stored message. qos and retain
// are the effective values for the target; subIDs its subscription
// identifiers; expiryMs the absolute expiry (unix ms, 0 = none).
func messageFromPacket(pk *packets.Packet, qos byte, retain bool, subIDs []int, nowMs, expiryMs int64) persist.Message {
	m := persist.Message{
		Topic:   pk.TopicName,
		Payload: pk.Payload,
		QoS:     qos,
		Retain:  retain,
		Created: nowMs,
		Expiry:  expiryMs,
		Origin:  pk.Origin,
		Properties: persist.Properties{
			ContentType:     pk.Properties.ContentType,
			ResponseTopic:   pk.Properties.ResponseTopic,
			CorrelationData: pk.Properties.CorrelationData,
			MessageExpiry:   pk.Properties.MessageExpiryInterval,
		},
	}
	if pk.Properties.PayloadFormatFlag {
		m.Properties.PayloadFormat = pk.Properties.PayloadFormat
	}
	if len(pk.Properties.User) > 0 {
		m.Properties.UserProperties = make([]persist.UserProperty, len(pk.Properties.User))
		for i, u := range pk.Properties.User {
			m.Properties.UserProperties[i] = persist.UserProperty{Key: u.Key, Value: u.Val}
		}
	}
	if len(subIDs) > 0 {
		ids := append([]int(nil), subIDs...)
		sort.Ints(ids)
		m.Properties.SubscriptionIDs = ids
	}
	return m
}

// packetFromMessage builds the PUBLISH the pump writes for m.
func packetFromMessage(m *persist.Message, id uint16, dup bool) packets.Packet {
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: m.QoS, Retain: m.Retain, Dup: dup && m.QoS > 0},
		TopicName:   m.Topic,
		Payload:     m.Payload,
		Origin:      m.Origin,
		Created:     m.Created / 1000,
		Properties: packets.Properties{
			ContentType:            m.Properties.ContentType,
			ResponseTopic:          m.Properties.ResponseTopic,
			CorrelationData:        m.Properties.CorrelationData,
			SubscriptionIdentifier: m.Properties.SubscriptionIDs,
		},
	}
	if m.QoS > 0 {
		pk.PacketID = id
	}
	if m.Properties.PayloadFormat == 1 {
		pk.Properties.PayloadFormat, pk.Properties.PayloadFormatFlag = 1, true
	}
	if m.Properties.MessageExpiry > 0 {
		// WritePacket turns Expiry into the remaining interval [MQTT-3.3.2-6].
		pk.Expiry = m.Created/1000 + int64(m.Properties.MessageExpiry)
	}
	for _, u := range m.Properties.UserProperties {
		pk.Properties.User = append(pk.Properties.User, packets.UserProperty{Key: u.Key, Val: u.Value})
	}
	return pk
}

// retainedPacket converts a stored retained message for mochi's retained index.
func retainedMessage(m *persist.Message) storage.Message {
	pk := packetFromMessage(m, 0, false)
	return storage.Message{
		ID:          "ret_" + m.Topic,
		T:           storage.RetainedKey,
		TopicName:   m.Topic,
		Payload:     m.Payload,
		Origin:      m.Origin,
		Created:     m.Created / 1000,
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: m.QoS, Retain: true},
		Properties: storage.MessageProperties{
			CorrelationData:       pk.Properties.CorrelationData,
			User:                  pk.Properties.User,
			ContentType:           pk.Properties.ContentType,
			ResponseTopic:         pk.Properties.ResponseTopic,
			MessageExpiryInterval: m.Properties.MessageExpiry,
			PayloadFormat:         pk.Properties.PayloadFormat,
			PayloadFormatFlag:     pk.Properties.PayloadFormatFlag,
		},
	}
}

// storedClient converts a persisted session for mochi's client table.
func storedClient(s *persist.Session) storage.Client {
	c := storage.Client{
		ID:              s.ClientID,
		T:               storage.ClientKey,
		Username:        []byte(s.Username),
		ProtocolVersion: s.ProtocolVersion,
		Clean:           s.Clean,
		Properties: storage.ClientProperties{
			SessionExpiryInterval:     s.SessionExpiry,
			SessionExpiryIntervalFlag: s.ProtocolVersion == 5,
		},
	}
	// The will stays with the hook (wills.go): mochi would never send it for a
	// restored client, and must not send it twice.
	return c
}

// storedSubscription converts a persisted subscription for mochi's topic index.
func storedSubscription(client string, s *persist.Subscription) storage.Subscription {
	return storage.Subscription{
		T:                 storage.SubscriptionKey,
		ID:                client + ":" + s.Filter,
		Client:            client,
		Filter:            s.Filter,
		Identifier:        int(s.Identifier),
		RetainHandling:    s.RetainHandling,
		Qos:               s.QoS,
		RetainAsPublished: s.RetainAsPublished,
		NoLocal:           s.NoLocal,
	}
}

// subscriptionFromPacket converts a subscription of a SUBSCRIBE packet.
func subscriptionFromPacket(s *packets.Subscription) persist.Subscription {
	return persist.Subscription{
		Filter:            s.Filter,
		QoS:               s.Qos,
		NoLocal:           s.NoLocal,
		RetainAsPublished: s.RetainAsPublished,
		RetainHandling:    s.RetainHandling,
		Identifier:        uint32(s.Identifier),
	}
}
