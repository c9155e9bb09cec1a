package route

import (
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/internal/logfield"
)

// OnSessionEstablished tells the other nodes a client id connected here, so
// an older connection of it elsewhere is taken over.
func (r *Router) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	if cl.Net.Inline {
		return
	}
	now := time.Now().UnixNano()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.since[cl] = now
	if len(r.peers) == 0 {
		return
	}
	r.stats.TakeoversSent.Add(1)
	r.broadcastLocked(appendFrame(nil, frameTakeover, encodeTakeover(cl.ID, now)))
}

// OnSubscribed counts the client's granted filters in the local route set
// (clients whose session the durable layer keeps are matched through the
// replicated store instead) and advertises new ones.
func (r *Router) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	if cl.Net.Inline || (r.opts.Durable != nil && r.opts.Durable(cl)) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	m := r.clientSubs[cl]
	for i, f := range pk.Filters {
		if i < len(codes) && codes[i] >= 0x80 {
			continue
		}
		if m == nil {
			m = map[string]struct{}{}
			r.clientSubs[cl] = m
		}
		if _, ok := m[f.Filter]; ok {
			continue
		}
		m[f.Filter] = struct{}{}
		r.local[f.Filter]++
		if r.local[f.Filter] == 1 {
			r.broadcastLocked(appendFrame(nil, frameAdd, appendStr(nil, f.Filter)))
		}
	}
}

// OnUnsubscribed uncounts the filters.
func (r *Router) OnUnsubscribed(cl *mqtt.Client, pk packets.Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.clientSubs[cl]
	if m == nil {
		return
	}
	for _, f := range pk.Filters {
		if _, ok := m[f.Filter]; !ok {
			continue
		}
		delete(m, f.Filter)
		r.uncountLocked(f.Filter)
	}
}

// OnDisconnect uncounts everything the client counted for.
func (r *Router) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.since, cl)
	for f := range r.clientSubs[cl] {
		r.uncountLocked(f)
	}
	delete(r.clientSubs, cl)
}

func (r *Router) uncountLocked(f string) {
	r.local[f]--
	if r.local[f] <= 0 {
		delete(r.local, f)
		if !r.closed {
			r.broadcastLocked(appendFrame(nil, frameRemove, appendStr(nil, f)))
		}
	}
}

// OnPublish forwards an accepted publish to every node with a matching route.
// The router is the last OnPublish hook: a publish another hook refused or
// consumed (IM upstream topics) never gets here. Publishes from other nodes
// are not forwarded again.
func (r *Router) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if Forwarded(cl) {
		return pk, nil
	}
	r.forward(&pk)
	return pk, nil
}

// OnWillSent forwards a will message (mochi delivered it locally).
func (r *Router) OnWillSent(_ *mqtt.Client, pk packets.Packet) {
	r.forward(&pk)
}

// forward queues pk on the link of every peer whose routes match its topic
// and returns the number of peers it was queued for and, for a QoS 1/2
// publish to a full link on the engine path, a channel to pause the
// publisher on (peer.sendPublish).
//
// Shared subscriptions are served once cluster-wide: if this node has
// members of a group (its own clean-session clients, or on the mochi path
// persistent sessions, which every node's index holds), this node serves the
// group and no other node does; otherwise the peer with the lowest node id
// among those that advertised the group serves it. Each frame names the
// groups its receiver is to serve (OnSelectSubscribers, or the engine's
// DeliverForwarded, drops the others there).
func (r *Router) forward(pk *packets.Packet) (n int, wait <-chan struct{}) {
	if r.npeers.Load() == 0 {
		return 0, nil
	}
	subs := r.remote.Subscribers(pk.TopicName)
	if len(subs.Subscriptions) == 0 && len(subs.Shared) == 0 {
		return 0, nil
	}
	targets := make(map[string][]string, len(subs.Subscriptions)+1)
	for id := range subs.Subscriptions {
		targets[id] = nil
	}
	var local func(string) bool
	for group, members := range subs.Shared {
		if local == nil {
			local = r.be.localGroups(pk.TopicName)
		}
		if local(group) {
			continue // served here
		}
		owner := ""
		for id := range members {
			if owner == "" || id < owner {
				owner = id
			}
		}
		targets[owner] = append(targets[owner], group)
	}
	base := encodePublish(pk)
	r.mu.Lock()
	type send struct {
		p      *peer
		groups []string
	}
	ps := make([]send, 0, len(targets))
	for id, groups := range targets {
		if p := r.peers[id]; p != nil {
			ps = append(ps, send{p, groups})
		}
	}
	r.mu.Unlock()
	block := r.be.block()
	var plain []byte // the frame for peers that serve no group, built once
	for _, s := range ps {
		var frame []byte
		if len(s.groups) == 0 {
			if plain == nil {
				plain = appendFrame(nil, framePublish, appendGroups(base, nil))
			}
			frame = plain
		} else {
			frame = appendFrame(nil, framePublish, appendGroups(append([]byte(nil), base...), s.groups))
		}
		ok, w := s.p.sendPublish(frame, pk.FixedHeader.Qos, block)
		if ok {
			n++
			r.stats.Forwarded.Add(1)
		} else {
			r.stats.Dropped.Add(1)
		}
		if w != nil && wait == nil {
			wait = w
		}
	}
	return n, wait
}

// OnSelectSubscribers keeps, for a publish forwarded by another node, only
// the shared groups that node asked this one to serve (the frame's groups,
// carried in pk.Filters); the origin node or another peer serves the others.
func (r *Router) OnSelectSubscribers(subs *mqtt.Subscribers, pk packets.Packet) *mqtt.Subscribers {
	if pk.Origin != ClientID {
		return subs
	}
	serve := make(map[string]bool, len(pk.Filters))
	for _, f := range pk.Filters {
		serve[f.Filter] = true
	}
	for group := range subs.Shared {
		if !serve[group] {
			delete(subs.Shared, group)
		}
	}
	for id, sub := range subs.SharedSelected {
		if !serve[sub.Filter] {
			delete(subs.SharedSelected, id)
		}
	}
	return subs
}

// mochiBackend is the router's node side on the mochi path.
type mochiBackend struct{ r *Router }

func (m mochiBackend) block() bool { return true }

func (m mochiBackend) deliver(pk *packets.Packet) {
	r := m.r
	if err := r.opts.Server.InjectPacket(r.inject, *pk); err != nil {
		r.log.Debug().Err(err).Str(logfield.Topic, pk.TopicName).Msg("forwarded publish not delivered")
	}
}

func (m mochiBackend) localGroups(topic string) func(string) bool {
	shared := m.r.opts.Server.Topics.Subscribers(topic).Shared
	return func(g string) bool { return len(shared[g]) > 0 }
}

// takeover disconnects the local client with id (MQTT 5: DISCONNECT 0x8E)
// if it connected before the one on the other node.
func (m mochiBackend) takeover(id string, at int64) {
	r := m.r
	cl, ok := r.opts.Server.Clients.Get(id)
	if !ok || cl.Net.Inline || cl.Closed() {
		return
	}
	r.mu.Lock()
	since, known := r.since[cl]
	r.mu.Unlock()
	if !known || since > at {
		return // not connected here, or newer than the remote connection
	}
	if r.opts.TakenOver != nil {
		r.opts.TakenOver(cl)
	}
	r.stats.TakeoversDone.Add(1)
	r.log.Info().Str(logfield.ClientID, id).Msg("client taken over by another node")
	_ = r.opts.Server.DisconnectClient(cl, packets.ErrSessionTakenOver)
}
