package storage

import (
	"hash/fnv"
	"slices"
	"strconv"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/hooks/acl"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// target is one persistent session a publish is enqueued for.
type target struct {
	s    *session
	size int64
}

// OnPublish is the write path (doc.go "Write path"). It runs in the
// publisher's read goroutine before mochi acknowledges the PUBLISH: every
// persistent target's copy (and the retained update) is applied through the
// node before it returns, so the PUBACK/PUBREC mochi writes next is only ever
// sent for what is durable.
func (h *Hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if h.opts.Forwarded != nil && h.opts.Forwarded(cl) {
		return pk, nil // the origin node enqueued it and updated the retained index
	}
	if err := h.route(cl, &pk, false); err != nil {
		return h.refuse(cl, pk, err)
	}
	return pk, nil // Retain cleared when a QoS 0 message was not retained (quota)
}

// OnWillSent enqueues a will message (mochi publishes it without OnPublish)
// for the persistent sessions it matches.
func (h *Hook) OnWillSent(cl *mqtt.Client, pk packets.Packet) {
	retain := pk.FixedHeader.Retain
	if err := h.route(cl, &pk, true); err != nil {
		h.log.Error().Err(err).Str(logfield.ClientID, cl.ID).Str(logfield.Topic, pk.TopicName).Msg("durable will failed")
	}
	if retain && !pk.FixedHeader.Retain {
		h.resyncRetained(pk.TopicName) // mochi retained it before the quota said no
	}
	// A delayed will (the client is gone): its session record still holds it.
	h.mu.Lock()
	s, ok := h.sessions[cl.ID]
	offline := ok && s.cl != cl
	h.mu.Unlock()
	if offline || cl.Closed() {
		h.clearWill(cl.ID)
	}
}

// route enqueues pk for every matching persistent session (durably, through
// the node) and hands QoS 0 copies for online ones to their pumps. A retained
// message over its owner's quota (retained.go) fails the publish with an
// error wrapping persist.ErrQuotaExceeded before anything is written; for
// QoS 0 and wills (nobody to refuse) it is delivered without being retained
// and pk's Retain flag is cleared.
func (h *Hook) route(cl *mqtt.Client, pkp *packets.Packet, will bool) error {
	pk := *pkp
	// Fast path: with no persistent session on this node (every client clean)
	// nothing can be enqueued, and mochi matches the topic again anyway; only a
	// retained update still has to be made durable. A session registers in
	// OnSessionEstablish, before its first SUBSCRIBE, so none is missed.
	h.mu.Lock()
	none := len(h.sessions) == 0
	h.mu.Unlock()
	if none && !pk.FixedHeader.Retain {
		return nil
	}
	subs := h.opts.Server.Topics.Subscribers(pk.TopicName)
	if len(subs.Shared) > 0 {
		selectShared(subs, &pk)
		subs.MergeSharedSelected()
	}
	now := h.now()
	nowMs := now.UnixMilli()
	expiry := nowMs + h.cfg.Retention.Milliseconds()
	if e := pk.Properties.MessageExpiryInterval; e > 0 {
		expiry = min(expiry, nowMs+int64(e)*1000)
	}
	var extra []persist.Op // the retained update, made with the first enqueue command
	if pk.FixedHeader.Retain {
		op, limited := h.retainedOp(cl, &pk, nowMs)
		head, err := h.core.applyRetained(h.life, op, limited)
		if err != nil {
			if !isQuota(err) {
				return err
			}
			h.core.retainRefused(cl.ID, string(cl.Properties.Username), pk.TopicName, err)
			if pk.FixedHeader.Qos > 0 && !will {
				return err
			}
			pk.FixedHeader.Retain, pkp.FixedHeader.Retain = false, false
		}
		extra = head
	}

	var (
		ops     []persist.Op
		targets []target
		live    []*session
		liveMsg []persist.Message
	)
	h.mu.Lock()
	for id, sub := range subs.Subscriptions {
		s, ok := h.sessions[id]
		if !ok {
			continue
		}
		if sub.NoLocal && pk.Origin == id { // [MQTT-3.8.3-3]
			continue
		}
		qos := min(pk.FixedHeader.Qos, sub.Qos)
		retain := pk.FixedHeader.Retain && sub.RetainAsPublished && s.proto == 5 // [MQTT-3.3.1-12]
		var ids []int
		for _, sid := range sub.Identifiers {
			if sid > 0 {
				ids = append(ids, sid)
			}
		}
		m := messageFromPacket(&pk, qos, retain, ids, nowMs, expiry)
		if qos == 0 && s.pump != nil {
			live, liveMsg = append(live, s), append(liveMsg, m)
			continue
		}
		size := int64(len(m.Topic) + len(m.Payload))
		if ok, limit := h.core.bound.reserve(id, size); !ok {
			h.core.bound.dropped(id, pk.TopicName, limit)
			continue
		}
		ops = append(ops, persist.EnqueueOp(id, m))
		targets = append(targets, target{s: s, size: size})
	}
	h.mu.Unlock()

	// The ACL check may block on nothing but it is not ours to call under h.mu.
	ops, targets = h.filterReadable(ops, targets)
	live, liveMsg = h.filterLive(live, liveMsg)

	seqs, err := h.core.enqueue(h.life, ops, extra, nil, false)
	if err != nil {
		h.release(targets)
		return err
	}
	for i, t := range targets {
		if seqs[i] == 0 { // staged: the commit made it durable
			t.s.notifyQueue(h)
			continue
		}
		t.s.notify(h, seqs[i])
	}
	for i, s := range live {
		s.pushLive(h, liveMsg[i])
	}
	return nil
}

// filterReadable drops the enqueue ops of targets that may not read the topic.
func (h *Hook) filterReadable(ops []persist.Op, ts []target) ([]persist.Op, []target) {
	n := 0
	for i := range ops {
		if h.opts.ACL.Check(ts[i].s.username, ts[i].s.id, ops[i].Message.Topic, acl.AccessRead) {
			ops[n], ts[n] = ops[i], ts[i]
			n++
			continue
		}
		h.core.bound.unreserve(ts[i].s.id, ts[i].size)
	}
	return ops[:n], ts[:n]
}

// filterLive drops the live targets that may not read the topic.
func (h *Hook) filterLive(ss []*session, ms []persist.Message) ([]*session, []persist.Message) {
	n := 0
	for i := range ss {
		if h.opts.ACL.Check(ss[i].username, ss[i].id, ms[i].Topic, acl.AccessRead) {
			ss[n], ms[n] = ss[i], ms[i]
			n++
		}
	}
	return ss[:n], ms[:n]
}

// release returns the queue space reserved for targets of a failed write.
func (h *Hook) release(ts []target) {
	for _, t := range ts {
		h.core.bound.unreserve(t.s.id, t.size)
	}
}

// refuse answers a PUBLISH whose durable write failed: never with a success ack.
// MQTT 5: a PUBACK or PUBREC (by QoS) with 0x97 for a full disk, 0x80 otherwise,
// written here because mochi would write a PUBACK even for QoS 2. 3.1.1 has no
// negative ack: the client is disconnected. QoS 0 is dropped.
func (h *Hook) refuse(cl *mqtt.Client, pk packets.Packet, err error) (packets.Packet, error) {
	if !isQuota(err) { // logged, rate-limited, by retainRefused
		h.log.Error().Err(err).Str(logfield.ClientID, cl.ID).Str(logfield.Topic, pk.TopicName).Msg("durable publish failed")
	}
	if cl.Net.Inline || pk.FixedHeader.Qos == 0 {
		return pk, packets.ErrRejectPacket
	}
	code := packets.ErrUnspecifiedError
	if isDiskFull(err) || isQuota(err) {
		code = packets.ErrQuotaExceeded // 0x97
	}
	if cl.Properties.ProtocolVersion == 5 {
		ack := packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Puback},
			PacketID:    pk.PacketID,
			ReasonCode:  code.Code,
			Properties:  packets.Properties{ReasonString: code.Reason},
		}
		if pk.FixedHeader.Qos == 2 {
			ack.FixedHeader.Type = packets.Pubrec
		}
		if werr := cl.WritePacket(ack); werr != nil {
			cl.Stop(werr)
		}
		return pk, packets.ErrRejectPacket
	}
	cl.Stop(code)
	return pk, packets.ErrRejectPacket
}

// OnSelectSubscribers makes mochi pick the same shared-group members as
// OnPublish did for this publish.
func (h *Hook) OnSelectSubscribers(subs *mqtt.Subscribers, pk packets.Packet) *mqtt.Subscribers {
	selectShared(subs, &pk)
	return subs
}

// selectShared picks one member per shared group, deterministically from the
// publish (origin, packet id, creation time, topic), so that OnPublish and
// OnSelectSubscribers agree without shared state.
func selectShared(subs *mqtt.Subscribers, pk *packets.Packet) {
	subs.SharedSelected = make(map[string]packets.Subscription, len(subs.Shared))
	for group, members := range subs.Shared {
		if len(members) == 0 {
			continue
		}
		ids := make([]string, 0, len(members))
		for id := range members {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		f := fnv.New64a()
		_, _ = f.Write([]byte(group))
		_, _ = f.Write([]byte(pk.Origin))
		_, _ = f.Write([]byte(pk.TopicName))
		_, _ = f.Write([]byte(strconv.FormatInt(pk.Created, 10)))
		_, _ = f.Write([]byte{byte(pk.PacketID >> 8), byte(pk.PacketID)})
		id := ids[f.Sum64()%uint64(len(ids))]
		sub := members[id]
		if prev, ok := subs.SharedSelected[id]; ok {
			sub = prev.Merge(sub)
		}
		subs.SharedSelected[id] = sub
	}
}
