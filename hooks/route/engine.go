package route

import (
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/hooks/ext"
)

// The native engine's side (ext.Router): the engine reports subscriptions
// as they enter and leave its index, each accepted publish after its local
// routing, and each connect; the router delivers what other nodes send
// through the engine's ext.RouteTarget.

var _ ext.Router = (*Router)(nil)

// StartEngine binds the router to the engine it routes for and starts it
// (Start). Build the router with New, give it to the engine as
// engine.Options.Router, then call StartEngine(engine).
func (r *Router) StartEngine(t ext.RouteTarget) {
	r.mu.Lock()
	if r.be == nil && t != nil {
		r.be = engineBackend{r: r, t: t}
	}
	r.mu.Unlock()
	r.Start()
}

// RouteAdded implements ext.Router: filter counts once more in the local
// route set; its first subscriber advertises it.
func (r *Router) RouteAdded(filter string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.local[filter]++
	if r.local[filter] == 1 {
		r.broadcastLocked(appendFrame(nil, frameAdd, appendStr(nil, filter)))
	}
}

// RouteRemoved implements ext.Router: its last subscriber withdraws filter.
func (r *Router) RouteRemoved(filter string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.local[filter] > 0 {
		r.uncountLocked(filter)
	}
}

// Forward implements ext.Router.
func (r *Router) Forward(m ext.StoredMessage) (int, <-chan struct{}) {
	if r.npeers.Load() == 0 {
		return 0, nil
	}
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: m.QoS},
		TopicName:   m.Topic,
		Payload:     m.Payload,
		Properties:  m.Props,
		Origin:      m.Origin,
	}
	pk.Properties.MessageExpiryInterval = 0
	if m.ExpiresAt > 0 { // the remaining time, at least 1 s [MQTT-3.3.2-6]
		left := (m.ExpiresAt - time.Now().UnixMilli() + 999) / 1000
		pk.Properties.MessageExpiryInterval = uint32(max(left, 1))
	}
	return r.forward(&pk)
}

// Connected implements ext.Router: the other nodes take over an older
// connection of clientID.
func (r *Router) Connected(clientID string, at int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || len(r.peers) == 0 {
		return
	}
	r.stats.TakeoversSent.Add(1)
	r.broadcastLocked(appendFrame(nil, frameTakeover, encodeTakeover(clientID, at)))
}

// engineBackend is the router's node side on the native engine.
type engineBackend struct {
	r *Router
	t ext.RouteTarget
}

func (e engineBackend) deliver(pk *packets.Packet) {
	m := &ext.StoredMessage{
		Topic:   pk.TopicName,
		Payload: pk.Payload,
		Props:   pk.Properties,
		QoS:     pk.FixedHeader.Qos,
		Origin:  pk.Origin,
	}
	if x := pk.Properties.MessageExpiryInterval; x > 0 {
		m.ExpiresAt = time.Now().UnixMilli() + int64(x)*1000
	}
	var groups []string
	for _, f := range pk.Filters {
		groups = append(groups, f.Filter)
	}
	e.t.DeliverForwarded(m, groups)
}

func (e engineBackend) takeover(id string, at int64) {
	if e.t.TakeOver(id, at) {
		e.r.stats.TakeoversDone.Add(1)
	}
}

func (e engineBackend) localGroups(topic string) func(string) bool {
	groups := e.t.SharedGroups(topic)
	return func(g string) bool {
		for _, x := range groups {
			if x == g {
				return true
			}
		}
		return false
	}
}
