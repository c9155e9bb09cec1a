package route

import (
	"github.com/mochi-mqtt/server/v2/packets"
)

func (r *Router) uncountLocked(f string) {
	r.local[f]--
	if r.local[f] <= 0 {
		delete(r.local, f)
		if !r.closed {
			r.broadcastLocked(appendFrame(nil, frameRemove, appendStr(nil, f)))
		}
	}
}

// forward queues pk on the link of every peer whose routes match its topic
// and returns the number of peers it was queued for and, for a QoS 1/2
// publish to a full link, a channel to pause the publisher on
// (peer.sendPublish).
//
// Shared subscriptions are served once cluster-wide: if this node has
// members of a group, this node serves the group and no other node does;
// otherwise the peer with the lowest node id among those that advertised
// the group serves it. Each frame names the groups its receiver is to serve
// (the engine's DeliverForwarded drops the others there).
func (r *Router) forward(pk *packets.Packet) (n int, wait <-chan struct{}) {
	if r.npeers.Load() == 0 {
		return 0, nil
	}
	subs := r.remote.match(pk.TopicName)
	if len(subs.plain) == 0 && len(subs.shared) == 0 {
		return 0, nil
	}
	targets := make(map[string][]string, len(subs.plain)+1)
	for id := range subs.plain {
		targets[id] = nil
	}
	var local func(string) bool
	for group, members := range subs.shared {
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
		ok, w := s.p.sendPublish(frame, pk.FixedHeader.Qos)
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
