package limits

import (
	"fmt"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/internal/mqtttopic"
)

// LimitMaxTopicLevels is the limit label of the topic depth bound in
// imqtt_limit_refusals_total (its config key).
const LimitMaxTopicLevels = "max_topic_levels"

// DefaultMaxTopicLevels is the default limits.max_topic_levels. mosquitto refuses
// a topic name or filter with more than 200 '/' separators (TOPIC_HIERARCHY_LIMIT
// in src/mosquitto_broker_internal.h, checked in lib/util_topic.c), that is more
// than 201 levels (mosquitto v2.0.20, commit fb9b115). imqtt counts levels, and
// 200 is the round number next to it.
const DefaultMaxTopicLevels = 200

// maxTopicLevels is the most levels a topic can have: 65535 bytes, all '/'.
const maxTopicLevels = 65536

// LevelsConfig bounds the depth of topic names and filters (limits.max_topic_levels).
type LevelsConfig struct {
	// MaxTopicLevels is the most levels ('/'-separated parts) a PUBLISH topic
	// name or a SUBSCRIBE/UNSUBSCRIBE topic filter may have.
	MaxTopicLevels int `yaml:"max_topic_levels"`
}

// DefaultLevelsConfig returns the default: 200 levels.
func DefaultLevelsConfig() LevelsConfig { return LevelsConfig{MaxTopicLevels: DefaultMaxTopicLevels} }

// Validate checks the bound: 1..65536.
func (c LevelsConfig) Validate() error {
	if c.MaxTopicLevels < 1 || c.MaxTopicLevels > maxTopicLevels {
		return fmt.Errorf("max_topic_levels: %d: must be between 1 and %d: %w", c.MaxTopicLevels, maxTopicLevels, ErrInvalidConfig)
	}
	return nil
}

// LimitObserver is told about every topic the levels hook refuses. It is called
// on the client's connection goroutine and must not block; nil is a no-op.
type LimitObserver interface {
	// LimitRefused records one refusal; limit is LimitMaxTopicLevels.
	LimitRefused(limit string)
}

// levelsWarnEvery is the shortest time between two refusal warnings; the ones in
// between are dropped from the log (the metric counts them all).
const levelsWarnEvery = 10 * time.Second

// The component value and log messages of the package (field names:
// internal/logfield).
const (
	component = "limits"

	msgTooDeep = "topic too deep, refused"
)

// logPrefixLen bounds the part of a refused topic copied into the log.
const logPrefixLen = 64

// LevelsHook refuses topic names and filters deeper than MaxTopicLevels in
// OnPacketRead, before mochi, the ACL, the IM service or mochi's topic index
// see them: mochi's index costs time quadratic in the depth (a filter of 40,000
// levels took seconds of CPU to subscribe and again to clean up). See the package
// documentation for the answers each protocol version gets.
type LevelsHook struct {
	mqtt.HookBase
	max int
	obs LimitObserver
	log zerolog.Logger // sampled

	mu    sync.Mutex
	unsub map[*mqtt.Client]unsubRefusal // v5 UNSUBACKs to complete in OnPacketEncode
}

// unsubRefusal remembers the filters removed from one client's UNSUBSCRIBE so
// that its UNSUBACK gets 0x8F at their positions.
type unsubRefusal struct {
	id      uint16 // packet id of the UNSUBSCRIBE
	total   int    // filters in the UNSUBSCRIBE as received
	refused []int  // positions removed, ascending
}

// NewLevels returns the hook for a validated config. obs may be nil; log gets
// component=limits.
func NewLevels(cfg LevelsConfig, obs LimitObserver, log zerolog.Logger) (*LevelsHook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &LevelsHook{
		max:   cfg.MaxTopicLevels,
		obs:   obs,
		log:   log.With().Str(logfield.Component, component).Logger().Sample(&zerolog.BurstSampler{Burst: 1, Period: levelsWarnEvery}),
		unsub: make(map[*mqtt.Client]unsubRefusal),
	}, nil
}

// ID names the hook.
func (h *LevelsHook) ID() string { return "imqtt-topic-levels" }

// Provides lists exactly the events the hook handles.
func (h *LevelsHook) Provides(b byte) bool {
	return b == mqtt.OnPacketRead || b == mqtt.OnPacketEncode || b == mqtt.OnDisconnect
}

// Init accepts no runtime config (it is given to NewLevels).
func (h *LevelsHook) Init(any) error { return nil }

// Stop forgets pending UNSUBACK rewrites. Idempotent; the hook owns no goroutine.
func (h *LevelsHook) Stop() error {
	h.mu.Lock()
	clear(h.unsub)
	h.mu.Unlock()
	return nil
}

// ExceedsLevels reports whether topic has more than max levels: the one
// implementation is mqtttopic.ExceedsLevels (the native engine uses it too).
func ExceedsLevels(topic string, max int) bool { return mqtttopic.ExceedsLevels(topic, max) }

// AllowWill reports whether a CONNECT's will topic is within the bound; a too
// deep one is counted and logged. The broker calls it from the auth hook's
// WillCheck, before the ACL and before any other hook's OnConnect does work, so
// the client is refused like a forbidden will: CONNACK 0x87 (v5) / 5 (3.1.1).
// Safe for concurrent use.
func (h *LevelsHook) AllowWill(clientID, topic string) bool {
	if !ExceedsLevels(topic, h.max) {
		return true
	}
	if h.obs != nil {
		h.obs.LimitRefused(LimitMaxTopicLevels)
	}
	h.log.Warn().Str(logfield.ClientID, clientID).Str(logfield.Packet, "will").Int(logfield.Limit, h.max).
		Int(logfield.TopicBytes, len(topic)).Str(logfield.TopicPrefix, logPrefix(topic)).Msg(msgTooDeep)
	return false
}

// OnPacketRead refuses a too deep PUBLISH topic name, SUBSCRIBE filter or
// UNSUBSCRIBE filter before mochi processes the packet.
func (h *LevelsHook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	switch pk.FixedHeader.Type {
	case packets.Publish:
		if ExceedsLevels(pk.TopicName, h.max) {
			h.refused(cl, "publish", pk.TopicName)
			return h.refusePublish(cl, pk)
		}
	case packets.Subscribe:
		return h.subscribe(cl, pk), nil
	case packets.Unsubscribe:
		return h.unsubscribe(cl, pk)
	}
	return pk, nil
}

// refusePublish answers a PUBLISH whose topic name is too deep. MQTT 5: QoS 1
// and 2 get PUBACK / PUBREC 0x90 (Topic Name invalid: "not malformed, but not
// accepted by this Server", MQTT 5.0 3.4.2.1 and 3.5.2.1) and the connection
// stays; QoS 0 has no acknowledgement, so the client gets DISCONNECT 0x90
// (3.14.2.1) and the connection closes. MQTT 3.1.1 cannot carry a reason: the
// connection is closed [MQTT-3.3.5-2]. mochi gets a PUBACK for packet id 0
// instead, which it ignores, or ErrRejectPacket, which ends the connection.
func (h *LevelsHook) refusePublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Properties.ProtocolVersion < 5 {
		return pk, packets.ErrRejectPacket
	}
	if pk.FixedHeader.Qos == 0 {
		_ = cl.WritePacket(packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Disconnect},
			ReasonCode:  packets.ErrTopicNameInvalid.Code,
		})
		return pk, packets.ErrRejectPacket
	}
	ack := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Puback},
		PacketID:    pk.PacketID,
		ReasonCode:  packets.ErrTopicNameInvalid.Code,
	}
	if pk.FixedHeader.Qos == 2 {
		ack.FixedHeader.Type = packets.Pubrec // a PUBREC of 0x80 or more ends the exchange (MQTT 5.0 4.3.3)
	}
	_ = cl.WritePacket(ack)
	return neutral(), nil
}

// subscribe replaces each too deep filter by the empty filter, which mochi
// refuses itself, cheaply, before the ACL and its index: SUBACK 0x8F (Topic
// Filter invalid, MQTT 5.0 3.9.3) for MQTT 5, 0x80 (failure, 3.1.1 3.9.3) for
// MQTT 3.1.1, and no retained messages. The other filters go on as usual.
func (h *LevelsHook) subscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	var filters packets.Subscriptions
	for i, f := range pk.Filters {
		if !ExceedsLevels(f.Filter, h.max) {
			continue
		}
		h.refused(cl, "subscribe", f.Filter)
		if filters == nil {
			filters = append(packets.Subscriptions(nil), pk.Filters...)
		}
		filters[i] = packets.Subscription{Qos: f.Qos} // Filter "" [MQTT-4.7.3-1]
	}
	if filters != nil {
		pk.Filters = filters
	}
	return pk
}

// unsubscribe removes the too deep filters (none can be subscribed). If none is
// left it answers the UNSUBSCRIBE itself (MQTT 5: 0x8F for each filter, MQTT 5.0
// 3.11.3; 3.1.1 UNSUBACK has no codes) and gives mochi a PUBACK for packet id 0,
// which it ignores; otherwise mochi answers for the rest and OnPacketEncode puts
// 0x8F back at the removed positions of a v5 UNSUBACK [MQTT-3.11.3-1].
func (h *LevelsHook) unsubscribe(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	var refused []int
	for i, f := range pk.Filters {
		if ExceedsLevels(f.Filter, h.max) {
			h.refused(cl, "unsubscribe", f.Filter)
			refused = append(refused, i)
		}
	}
	if refused == nil {
		return pk, nil
	}
	v5 := cl.Properties.ProtocolVersion >= 5
	if len(refused) == len(pk.Filters) {
		ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsuback}, PacketID: pk.PacketID}
		if v5 {
			ack.ReasonCodes = make([]byte, len(pk.Filters))
			for i := range ack.ReasonCodes {
				ack.ReasonCodes[i] = packets.ErrTopicFilterInvalid.Code
			}
		}
		_ = cl.WritePacket(ack)
		return neutral(), nil
	}
	kept := make(packets.Subscriptions, 0, len(pk.Filters)-len(refused))
	j := 0 // next position in refused
	for i, f := range pk.Filters {
		if j < len(refused) && refused[j] == i {
			j++
			continue
		}
		kept = append(kept, f)
	}
	if v5 {
		h.mu.Lock()
		h.unsub[cl] = unsubRefusal{id: pk.PacketID, total: len(pk.Filters), refused: refused}
		h.mu.Unlock()
	}
	pk.Filters = kept
	return pk, nil
}

// OnPacketEncode completes the UNSUBACK of an UNSUBSCRIBE whose too deep filters
// were removed: 0x8F at their positions.
func (h *LevelsHook) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type != packets.Unsuback {
		return pk
	}
	h.mu.Lock()
	r, ok := h.unsub[cl]
	if ok && r.id == pk.PacketID {
		delete(h.unsub, cl)
	}
	h.mu.Unlock()
	if !ok || r.id != pk.PacketID || len(pk.ReasonCodes) != r.total-len(r.refused) {
		return pk
	}
	codes := make([]byte, 0, r.total)
	next, j := 0, 0 // positions in pk.ReasonCodes and r.refused
	for i := range r.total {
		if j < len(r.refused) && r.refused[j] == i {
			codes = append(codes, packets.ErrTopicFilterInvalid.Code)
			j++
			continue
		}
		codes = append(codes, pk.ReasonCodes[next])
		next++
	}
	pk.ReasonCodes = codes
	return pk
}

// OnDisconnect drops a pending UNSUBACK rewrite of cl.
func (h *LevelsHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.mu.Lock()
	delete(h.unsub, cl)
	h.mu.Unlock()
}

// refused counts a refusal and logs it (sampled): client, user, packet type
// and the start of the topic, never all of it.
func (h *LevelsHook) refused(cl *mqtt.Client, what, topic string) {
	if h.obs != nil {
		h.obs.LimitRefused(LimitMaxTopicLevels)
	}
	h.log.Warn().Str(logfield.ClientID, cl.ID).Bytes(logfield.User, cl.Properties.Username).
		Str(logfield.Remote, cl.Net.Remote).Str(logfield.Packet, what).Int(logfield.Limit, h.max).
		Int(logfield.TopicBytes, len(topic)).Str(logfield.TopicPrefix, logPrefix(topic)).Msg(msgTooDeep)
}

// logPrefix is the start of topic, for the log.
func logPrefix(topic string) string {
	if len(topic) > logPrefixLen {
		return topic[:logPrefixLen] + "..."
	}
	return topic
}

// neutral is the packet mochi gets instead of one the hook answered: a PUBACK for
// packet id 0, which mochi's processPuback ignores (no in-flight message has id 0).
func neutral() packets.Packet {
	return packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}}
}

// compile-time check that the hook satisfies mochi's interface.
var _ mqtt.Hook = (*LevelsHook)(nil)
