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
