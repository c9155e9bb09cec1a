package engine

import (
	"strings"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/mochi-mqtt/server/v2/packets"
)

// route delivers m to every matching subscription and stores it if retained.
// pub is the publishing connection (nil for wills): its reader is paused when
// a subscriber's pending output fills up (back-pressure). It returns the
// number of sessions m was offered to, and with a store what must be
// written before the publish is acknowledged (nil: nothing): the copies for
// durable sessions and the retained update (commit does both).
func (e *Engine) route(b *transport.Batch, pub *client, m *message) (int, *durablePub) {
	var dp *durablePub
	if m.retain {
		if e.store != nil && !strings.HasPrefix(m.topic, sysPrefix) {
			dp = &durablePub{retain: true} // the index after the write
		} else {
			e.topics.retain(m) // [MQTT-3.3.1-5]; an empty payload deletes [MQTT-3.3.1-6]
		}
	}
	return e.deliverAll(b, pub, m, e.topics.match(m.topic, nil), dp, false)
}

// deliverAll offers m to the matched subscriptions refs, one copy per
// session, adding durable copies to dp (route's). It returns the number of
// sessions m was offered to and dp. forwarded: m came from another node,
// whose store write already holds the durable sessions' copies, so they are
// skipped.
func (e *Engine) deliverAll(b *transport.Batch, pub *client, m *message, refs []subRef, dp *durablePub, forwarded bool) (int, *durablePub) {
	if len(refs) == 0 {
		return 0, dp
	}
	targets := make([]delivery, 0, len(refs))
	sessions := make([]*session, 0, len(refs))
	var seen map[*session]int
	for _, r := range refs {
		if r.o.noLoc && r.s == m.origin {
			continue // [MQTT-3.8.3-3]
		}
		d := delivery{m: m, qos: min(m.qos, r.o.qos), retain: m.retain && r.o.rap} // [MQTT-3.3.1-12] [MQTT-3.3.1-13]
		if r.o.id != 0 {
			d.subIDs = []int{int(r.o.id)} // [MQTT-3.3.4-3]
		}
		if len(refs) > 1 {
			if seen == nil {
				seen = make(map[*session]int, len(refs))
			}
			if i, ok := seen[r.s]; ok { // overlapping subscriptions: one copy [MQTT-3.3.4-2]
				t := &targets[i]
				t.qos = max(t.qos, d.qos)
				t.retain = t.retain || d.retain
				t.subIDs = append(t.subIDs, d.subIDs...)
				continue
			}
			seen[r.s] = len(targets)
		}
		targets = append(targets, d)
		sessions = append(sessions, r.s)
	}
	// A retained update through the store may be refused (the owner's
	// quota): nobody gets the message before it is written (commit).
	hold := dp != nil && dp.retain && !forwarded
	var fan fanout
	for i, s := range sessions {
		// A durable session's QoS 1/2 copies, and QoS 0 ones while it is
		// offline, go through its queue in the store; QoS 0 to a
		// connected one goes from memory (as the mochi path does).
		if s.durable && forwarded {
			continue
		}
		if s.durable && (targets[i].qos > 0 || !s.online.Load()) {
			if e.mayDeliver(s, m.topic) {
				if dp == nil {
					dp = &durablePub{}
				}
				dp.sessions = append(dp.sessions, s)
				dp.ds = append(dp.ds, targets[i])
			}
			continue
		}
		if hold {
			dp.later = append(dp.later, s)
			dp.laterDs = append(dp.laterDs, targets[i])
			continue
		}
		e.deliver(b, pub, s, targets[i], &fan)
	}
	return len(sessions), dp
}

// mayDeliver is deliver's check for a durable copy: the session lives and
// the Authorizer lets it read topic. A copy is counted (copyBegin) under
// s.mu, so a session that ends after it has its record deleted after the
// copy is written (endLocked sets ended before it queues the delete).
func (e *Engine) mayDeliver(s *session, topic string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := !s.ended && (s.info == nil || e.acl.Allow(s.info, topic, ext.AccessDeliver))
	if ok {
		e.copyBegin(s.id)
	}
	return ok
}

// deliver offers d to s: AccessDeliver, then the session's window and queue.
func (e *Engine) deliver(b *transport.Batch, pub *client, s *session, d delivery, fan *fanout) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || (s.info != nil && !e.acl.Allow(s.info, d.m.topic, ext.AccessDeliver)) {
		return
	}
	s.sendLocked(b, pub, d, fan)
}

// fanout caches a message's encodings per (version, qos, retain, one
// subscription id, topic alias): a PUBLISH is encoded once per variant and
// its packet id patched per subscriber (Queue copies). Clients without
// aliases share one variant; an aliased client shares its encoding with the
// others that send the topic under the same alias in the same form (name and
// alias, or alias alone), which is common when they subscribed alike.
type fanout struct {
	keys []fanKey
	encs [][]byte
}

type fanKey struct {
	m      *message
	v      byte
	qos    byte
	retain bool
	bare   bool // topic name left out: the alias is known
	alias  uint16
	sub    int
}

// encodePublish encodes d for cl with packet id id (0 for QoS 0). When the
// encoding announces a new topic alias, bind is that alias: the caller binds
// it once the PUBLISH is queued (client.queuePublish). Called with s.mu held.
func encodePublish(cl *client, d delivery, id uint16, dup bool, fan *fanout, t int64) (enc []byte, bind uint16) {
	alias, known := cl.outAlias(d.m.topic)
	if alias != 0 && !known {
		bind = alias
	}
	cacheable := fan != nil && !dup && len(d.subIDs) <= 1
	var k fanKey
	if cacheable {
		k = fanKey{m: d.m, v: cl.info.ProtocolVersion, qos: d.qos, retain: d.retain, bare: known, alias: alias}
		if len(d.subIDs) == 1 {
			k.sub = d.subIDs[0]
		}
		for i := range fan.keys {
			if fan.keys[i] == k {
				return patchID(fan.encs[i], d.qos, id), bind
			}
		}
	}
	pk := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Publish, Qos: d.qos, Retain: d.retain, Dup: dup},
		TopicName:       d.m.topic,
		Payload:         d.m.payload,
		PacketID:        id,
		ProtocolVersion: cl.info.ProtocolVersion,
		Mods:            packets.Mods{AllowResponseInfo: true},
	}
	if d.qos > 0 && id == 0 {
		pk.PacketID = 1
	}
	if cl.v5() {
		pk.Properties = d.m.props
		pk.Properties.MessageExpiryInterval = d.m.remaining(t) // [MQTT-3.3.2-6]
		pk.Properties.SubscriptionIdentifier = d.subIDs
		if alias != 0 {
			pk.Properties.TopicAlias, pk.Properties.TopicAliasFlag = alias, true
			if known {
				pk.TopicName = "" // 3.3.2.3.4: the alias stands for the name
			}
		}
	}
	enc, err := encode(&pk)
	if err != nil {
		cl.logEvent(cl.e.log.Error()).Err(err).Msg("encode publish")
		return nil, 0
	}
	if cacheable {
		fan.keys = append(fan.keys, k)
		fan.encs = append(fan.encs, enc)
	}
	return patchID(enc, d.qos, id), bind
}

func patchID(enc []byte, qos byte, id uint16) []byte {
	if qos > 0 && id != 0 {
		o := packetIDOffset(enc)
		enc[o], enc[o+1] = byte(id>>8), byte(id)
	}
	return enc
}
