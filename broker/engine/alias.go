package engine

import (
	"fmt"
	"strings"

	"github.com/mochi-mqtt/server/v2/packets"
)

// resolveAlias applies an inbound v5 Topic Alias (3.3.2.3.4) and returns the
// PUBLISH's topic name.
func (cl *client) resolveAlias(pk *packets.Packet) (string, error) {
	p := &pk.Properties
	if !cl.v5() || !p.TopicAliasFlag {
		if pk.TopicName == "" {
			return "", fmt.Errorf("%w: empty topic name without alias [MQTT-3.3.2-1]", ErrProtocol)
		}
		return pk.TopicName, nil
	}
	a := p.TopicAlias
	if a == 0 || a > cl.e.cfg.TopicAliasMaximum {
		return "", fmt.Errorf("%w: alias %d, maximum %d [MQTT-3.3.2-8] [MQTT-3.3.2-9]", ErrTopicAlias, a, cl.e.cfg.TopicAliasMaximum)
	}
	if pk.TopicName == "" {
		t, ok := cl.inAliases[a]
		if !ok {
			// 3.3.2.3.4: an alias the server has no mapping for is a
			// Protocol Error (0x82).
			return "", fmt.Errorf("%w: unknown topic alias %d", ErrProtocol, a)
		}
		return t, nil
	}
	if cl.inAliases == nil {
		cl.inAliases = make(map[uint16]string, 1)
	}
	cl.inAliases[a] = strings.Clone(pk.TopicName)
	return pk.TopicName, nil
}

// Outbound topic aliases (3.3.2.3.4). A v5 client that announces a Topic
// Alias Maximum > 0 in CONNECT [MQTT-3.1.2-26] gets aliases on the PUBLISHes
// the server sends it, at most min(its maximum,
// mqtt.outbound_topic_alias_maximum) of them [MQTT-3.1.2-27]; a 3.1.1
// client, or a v5 client announcing 0, never does.
//
// Policy: the first N distinct topics sent on a connection get aliases
// 1..N, in send order, and keep them for the connection's life; a topic
// after the table is full is sent with its name and no alias (no
// replacement, so an alias never changes meaning under a packet the client
// has not read yet). The first PUBLISH of an aliased topic carries the name
// and the alias, later ones an empty name and the alias. The table is the
// client's (never the session's): it is created at the first PUBLISH that
// takes an alias and dies with the connection, so a reconnect starts with no
// aliases [MQTT-3.3.2-7]. It is guarded by the session's mu, under which
// every PUBLISH to the client is encoded and queued, so the table always
// matches the order of the bytes on the wire.

// outAlias returns the alias to send topic under (0: none) and whether the
// client already knows it (the topic name may then be left out).
func (cl *client) outAlias(topic string) (alias uint16, known bool) {
	if cl.outAliasMax == 0 {
		return 0, false
	}
	if a, ok := cl.outAliases[topic]; ok {
		return a, true
	}
	if n := len(cl.outAliases); n < int(cl.outAliasMax) {
		return uint16(n + 1), false
	}
	return 0, false
}

// bindAlias records that a PUBLISH announcing alias a for topic was queued
// to the connection: later PUBLISHes of topic leave the name out. An alias
// whose PUBLISH was refused or dropped is never bound (the client would not
// know it).
func (cl *client) bindAlias(topic string, a uint16) {
	if cl.outAliases == nil {
		cl.outAliases = make(map[string]uint16, 1)
	}
	cl.outAliases[topic] = a // m.topic: immutable and already a private copy
}
