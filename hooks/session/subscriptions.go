package session

import (
	"slices"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/internal/logfield"
)

// refusedFilter replaces a filter past the bound: mochi finds it invalid
// [MQTT-4.7.3-1], answers 0x8F and creates no state for it; OnPacketEncode
// then turns that code into 0x97.
const refusedFilter = ""

// refusedFilters is the positions of one SUBSCRIBE refused for the bound.
type refusedFilters struct {
	packetID uint16
	idx      []int
}

// OnSubscribe enforces limits.max_subscriptions_per_client: a filter the
// client does not hold yet (nor earlier in the same packet), once the client
// holds the bound, is replaced by refusedFilter. Re-subscribing a held filter
// replaces it and never counts. Invalid filters are left for mochi (0x8F).
// Runs in the client's read goroutine, before any other hook's OnSubscribe.
func (h *Hook) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	limit := h.lim.MaxSubscriptionsPerClient
	if limit <= 0 || cl.Net.Inline || len(pk.Filters) == 0 {
		return pk
	}
	have := cl.State.Subscriptions.Len()
	var idx []int
	var added map[string]struct{}
	for i, f := range pk.Filters {
		if _, ok := cl.State.Subscriptions.Get(f.Filter); ok || !mqtt.IsValidFilter(f.Filter, false) {
			continue
		}
		if _, ok := added[f.Filter]; ok {
			continue
		}
		if have < limit {
			have++
			if added == nil {
				added = map[string]struct{}{}
			}
			added[f.Filter] = struct{}{}
			continue
		}
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return pk
	}
	pk.Filters = slices.Clone(pk.Filters)
	for _, i := range idx {
		pk.Filters[i].Filter = refusedFilter
	}
	h.subMu.Lock()
	h.refused[cl] = &refusedFilters{packetID: pk.PacketID, idx: idx}
	h.subMu.Unlock()
	if h.obs != nil {
		for range idx {
			h.obs.LimitRefused(LimitMaxSubsPerClient)
		}
	}
	h.warnSub.Warn().Str(logfield.ClientID, cl.ID).Str(logfield.User, string(cl.Properties.Username)).
		Int(logfield.Count, len(idx)).Int(logfield.Limit, limit).Msg("subscriptions refused: client holds max_subscriptions_per_client")
	return pk
}

// OnPacketEncode gives the refused filters of a SUBACK reason code 0x97
// Quota exceeded (3.9.3; MQTT 3.1.1 has only 0x80 Failure, which mochi has
// already written for them).
func (h *Hook) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type != packets.Suback {
		return pk
	}
	h.subMu.Lock()
	r, ok := h.refused[cl]
	if ok && r.packetID == pk.PacketID {
		delete(h.refused, cl)
	}
	h.subMu.Unlock()
	if !ok || r.packetID != pk.PacketID || cl.Properties.ProtocolVersion < 5 {
		return pk
	}
	pk.ReasonCodes = slices.Clone(pk.ReasonCodes)
	for _, i := range r.idx {
		if i < len(pk.ReasonCodes) && pk.ReasonCodes[i] == packets.ErrTopicFilterInvalid.Code {
			pk.ReasonCodes[i] = packets.ErrQuotaExceeded.Code
		}
	}
	return pk
}
