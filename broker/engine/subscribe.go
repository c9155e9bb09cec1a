package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/mochi-mqtt/server/v2/packets"
)

// subscribe handles SUBSCRIBE: per filter validation and authorisation, the
// index, the SUBACK, then the matching retained messages.
func (cl *client) subscribe(b *transport.Batch, pk *packets.Packet) error {
	e := cl.e
	if len(pk.Filters) == 0 {
		return fmt.Errorf("%w: SUBSCRIBE without filters [MQTT-3.8.3-3]", ErrProtocol)
	}
	var subID uint32
	if ids := pk.Properties.SubscriptionIdentifier; len(ids) > 0 {
		if len(ids) > 1 || ids[0] == 0 || ids[0] > 268435455 {
			return fmt.Errorf("%w: subscription identifier %v", ErrProtocol, ids)
		}
		if !e.cfg.SubscriptionIdentifiers {
			return fmt.Errorf("%w: subscription identifiers not supported", ErrProtocol)
		}
		subID = uint32(ids[0])
	}
	codes := make([]byte, len(pk.Filters))
	var rets []delivery
	var undo []subUndo // durable: what to put back if the write fails
	for i, f := range pk.Filters {
		if cl.v5() && f.RetainHandling > 2 {
			return fmt.Errorf("%w: retain handling 3 [MQTT-3.8.3-5]", ErrMalformed)
		}
		if _, _, shared := shareSplit(f.Filter); shared && f.NoLocal {
			return fmt.Errorf("%w: no local on a shared subscription [MQTT-3.8.3-4]", ErrProtocol)
		}
		code, existed, prev := cl.subscribeOne(f, subID)
		codes[i] = code
		if code > 2 {
			continue
		}
		if cl.s.durable {
			undo = append(undo, subUndo{i: i, filter: strings.Clone(f.Filter), existed: existed, prev: prev})
		}
		// Retained messages: not for shared subscriptions; retain handling
		// 0 always, 1 only for a new subscription, 2 never [MQTT-3.3.1-9]
		// [MQTT-3.3.1-10] [MQTT-3.3.1-11].
		if _, _, shared := shareSplit(f.Filter); shared || f.RetainHandling == 2 || (f.RetainHandling == 1 && existed) {
			continue
		}
		for _, m := range e.topics.retained(f.Filter, nil) {
			d := delivery{m: m, qos: min(m.qos, code), retain: true} // [MQTT-3.3.1-8]
			if subID != 0 {
				d.subIDs = []int{int(subID)}
			}
			rets = append(rets, d)
		}
	}
	if len(undo) > 0 {
		cl.commitSubscribe(b, pk.PacketID, codes, rets, undo)
		return nil
	}
	cl.subscribed(b, pk.PacketID, codes, rets)
	return nil
}

// subscribed queues the SUBACK, then the retained messages.
func (cl *client) subscribed(b *transport.Batch, pid uint16, codes []byte, rets []delivery) {
	cl.send(b, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Suback}, PacketID: pid, ReasonCodes: codes}) // [MQTT-3.8.4-1]
	if len(rets) == 0 {
		return
	}
	s := cl.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != cl {
		return
	}
	for _, d := range rets {
		if cl.e.acl.Allow(&cl.info, d.m.topic, ext.AccessDeliver) {
			s.sendLocked(b, nil, d, nil)
		}
	}
}

// subUndo is one granted filter of a durable session's SUBSCRIBE.
type subUndo struct {
	i       int // its index in the SUBSCRIBE
	filter  string
	existed bool
	prev    subOpts
}

// commitSubscribe writes a durable session's new subscriptions before the
// SUBACK (the connection paused meanwhile). A refused write puts the
// session's subscriptions back and answers 0x80 for those filters.
func (cl *client) commitSubscribe(b *transport.Batch, pid uint16, codes []byte, rets []delivery, undo []subUndo) {
	e, s := cl.e, cl.s
	subs := make([]ext.Subscription, 0, len(undo))
	s.mu.Lock()
	for _, u := range undo {
		subs = append(subs, storeSubscription(u.filter, s.subs[u.filter]))
	}
	s.mu.Unlock()
	done := make(chan struct{})
	cl.conn.Pause(b, done, 0)
	e.write(s.id, func(ctx context.Context) {
		defer close(done)
		if err := e.store.PutSubscriptions(ctx, s.id, subs); err != nil {
			cl.logEvent(e.log.Warn()).Err(err).Msg("store subscriptions")
			s.mu.Lock()
			for _, u := range undo {
				codes[u.i] = 0x80
				if s.ended {
					continue
				}
				if u.existed {
					s.subs[u.filter] = u.prev
					e.topics.subscribe(s, u.filter, u.prev)
				} else if _, ok := s.subs[u.filter]; ok {
					delete(s.subs, u.filter)
					e.topics.unsubscribe(s, u.filter)
				}
			}
			if len(s.subs) == 0 {
				s.subs = nil
			}
			s.mu.Unlock()
			rets = nil
		}
		cl.subscribed(nil, pid, codes, rets)
	})
}

// subscribeOne adds one filter; it returns the SUBACK code (the granted QoS
// or a failure), whether the subscription existed and its options then.
func (cl *client) subscribeOne(f packets.Subscription, subID uint32) (byte, bool, subOpts) {
	e := cl.e
	fail := func(code byte) (byte, bool, subOpts) {
		if !cl.v5() {
			return 0x80, false, subOpts{} // [MQTT-3.9.3-2]
		}
		return code, false, subOpts{}
	}
	if !validFilter(f.Filter) {
		return fail(0x8F) // topic filter invalid
	}
	if e.tooDeep(f.Filter) {
		e.refusedDeep(&cl.info, "subscribe", f.Filter)
		return fail(0x8F)
	}
	_, inner, shared := shareSplit(f.Filter)
	if shared && !e.cfg.SharedSubscriptions {
		return fail(0x9E)
	}
	if !e.cfg.WildcardSubscriptions && strings.ContainsAny(inner, "+#") {
		return fail(0xA2)
	}
	if !e.acl.Allow(&cl.info, f.Filter, ext.AccessSubscribe) {
		if e.cfg.ObscureNotAuthorized {
			return fail(0x80)
		}
		return fail(0x87)
	}
	o := subOpts{id: subID, qos: min(f.Qos, e.cfg.MaxQoS), rh: f.RetainHandling, noLoc: f.NoLocal, rap: f.RetainAsPublished}
	filter := strings.Clone(f.Filter)
	s := cl.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return fail(0x80)
	}
	prev, existed := s.subs[filter]
	if max := e.cfg.MaxSubscriptionsPerClient; !existed && max > 0 && len(s.subs) >= max {
		e.refusedSubs(&cl.info, len(s.subs))
		return fail(0x97) // quota exceeded; a re-sent filter does not count
	}
	if s.subs == nil {
		s.subs = make(map[string]subOpts, 1)
	}
	s.subs[filter] = o // [MQTT-3.8.4-3] replaces an identical filter
	e.topics.subscribe(s, filter, o)
	return o.qos, existed, prev // [MQTT-3.9.3-1]
}

// unsubscribe handles UNSUBSCRIBE [MQTT-3.10.4-1] ff.
func (cl *client) unsubscribe(b *transport.Batch, pk *packets.Packet) error {
	if len(pk.Filters) == 0 {
		return fmt.Errorf("%w: UNSUBSCRIBE without filters [MQTT-3.10.3-2]", ErrProtocol)
	}
	codes := make([]byte, len(pk.Filters))
	s := cl.s
	var undo []subUndo
	s.mu.Lock()
	for i, f := range pk.Filters {
		if !validFilter(f.Filter) {
			codes[i] = 0x8F
			continue
		}
		if cl.e.tooDeep(f.Filter) {
			cl.e.refusedDeep(&cl.info, "unsubscribe", f.Filter)
			codes[i] = 0x8F
			continue
		}
		o, ok := s.subs[f.Filter]
		if !ok {
			codes[i] = 0x11 // no subscription existed
			continue
		}
		if s.durable {
			undo = append(undo, subUndo{i: i, filter: strings.Clone(f.Filter), existed: true, prev: o})
		}
		delete(s.subs, f.Filter)
		cl.e.topics.unsubscribe(s, f.Filter)
	}
	if len(s.subs) == 0 {
		s.subs = nil
	}
	s.mu.Unlock()
	if len(undo) > 0 {
		cl.commitUnsubscribe(b, pk.PacketID, codes, undo)
		return nil
	}
	cl.send(b, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsuback}, PacketID: pk.PacketID, ReasonCodes: codes}) // [MQTT-3.10.4-4]
	return nil
}

// commitUnsubscribe deletes a durable session's subscriptions before the
// UNSUBACK (the connection paused meanwhile). A refused write puts them
// back: v5 gets 0x80 for those filters, a 3.1.1 connection is closed.
func (cl *client) commitUnsubscribe(b *transport.Batch, pid uint16, codes []byte, undo []subUndo) {
	e, s := cl.e, cl.s
	filters := make([]string, len(undo))
	for i, u := range undo {
		filters[i] = u.filter
	}
	done := make(chan struct{})
	cl.conn.Pause(b, done, 0)
	e.write(s.id, func(ctx context.Context) {
		defer close(done)
		if err := e.store.DeleteSubscriptions(ctx, s.id, filters); err != nil {
			cl.logEvent(e.log.Warn()).Err(err).Msg("store unsubscribe")
			s.mu.Lock()
			for _, u := range undo {
				codes[u.i] = 0x80
				if s.ended {
					continue
				}
				if s.subs == nil {
					s.subs = make(map[string]subOpts, len(undo))
				}
				s.subs[u.filter] = u.prev
				e.topics.subscribe(s, u.filter, u.prev)
			}
			s.mu.Unlock()
			if !cl.v5() {
				cl.conn.Close(err)
				return
			}
		}
		cl.send(nil, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsuback}, PacketID: pid, ReasonCodes: codes}) // [MQTT-3.10.4-4]
	})
}
