package storage

import (
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/internal/mqtttopic"
	"github.com/imqtt/imqtt/persist"
)

// persistent reports whether cl asked for a session that outlives the
// connection: 3.1.1 clean session false, MQTT 5 session expiry > 0.
func persistent(cl *mqtt.Client) bool {
	if cl.Properties.ProtocolVersion == 5 {
		return cl.Properties.Props.SessionExpiryInterval > 0
	}
	return !cl.Properties.Clean
}

// sessionRecord builds the stored session of cl.
func sessionRecord(cl *mqtt.Client, disconnectedAt int64) persist.Session {
	s := persist.Session{
		ClientID:        cl.ID,
		Username:        string(cl.Properties.Username),
		ProtocolVersion: cl.Properties.ProtocolVersion,
		Clean:           cl.Properties.Clean,
		SessionExpiry:   persist.NeverExpires,
		DisconnectedAt:  disconnectedAt,
	}
	if s.ProtocolVersion < 3 || s.ProtocolVersion > 5 {
		s.ProtocolVersion = 4
	}
	if cl.Properties.ProtocolVersion == 5 {
		s.SessionExpiry = cl.Properties.Props.SessionExpiryInterval
	}
	if w := cl.Properties.Will; w.Flag > 0 {
		s.Will = &persist.Will{
			Topic: w.TopicName, Payload: w.Payload, QoS: w.Qos, Retain: w.Retain,
			DelaySeconds: w.WillDelayInterval,
		}
		for _, u := range w.User {
			s.Will.Properties.UserProperties = append(s.Will.Properties.UserProperties,
				persist.UserProperty{Key: u.Key, Value: u.Val})
		}
	}
	return s
}

// OnSessionEstablish records the session through the node before the CONNACK:
// a clean start over a known session deletes it first [MQTT-3.1.2-4]; a
// persistent session is stored. A clean session with nothing stored costs no
// write. If the write fails the client is stopped and gets no CONNACK.
func (h *Hook) OnSessionEstablish(cl *mqtt.Client, pk packets.Packet) {
	h.cancelWill(cl.ID) // [MQTT-3.1.3-9]: a stored will waiting for its delay is not sent
	h.mu.Lock()
	old, known := h.sessions[cl.ID]
	h.mu.Unlock()
	// A v5 client resuming a stored session (Clean Start 0) with Session Expiry 0
	// still resumes it: it gets the queued messages, and the session ends when
	// this connection closes [MQTT-3.1.2-4, 3.1.2.11.2].
	keep := persistent(cl) || (known && !pk.Connect.Clean)
	if known {
		h.stopPump(old, nil)
	}
	var ops []persist.Op
	if known && (pk.Connect.Clean || !keep) {
		ops = append(ops, persist.DeleteSessionOp(cl.ID))
	}
	if keep {
		ops = append(ops, persist.PutSessionOp(sessionRecord(cl, 0)))
	}
	if len(ops) == 0 {
		return
	}
	// While the write is applied the observer must leave this client id to
	// us (it would otherwise mirror the session into mochi's table as an
	// offline client, and mochi would then report a session present).
	h.mu.Lock()
	h.establishing[cl.ID]++
	h.mu.Unlock()
	_, err := h.apply(ops)
	h.mu.Lock()
	if h.establishing[cl.ID]--; h.establishing[cl.ID] <= 0 {
		delete(h.establishing, cl.ID)
	}
	h.mu.Unlock()
	if err != nil {
		h.log.Error().Err(err).Str(logfield.ClientID, cl.ID).Msg("durable session write failed")
		cl.Stop(packets.ErrUnspecifiedError)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !keep {
		h.deleteSessionLocked(cl.ID)
		return
	}
	user := string(cl.Properties.Username)
	s := old
	if s == nil || pk.Connect.Clean {
		s = &session{id: cl.ID, username: user}
		h.putSessionLocked(s)
	}
	s.cl = cl
	h.setUserLocked(s, user)
	s.proto = cl.Properties.ProtocolVersion
}

// OnSessionEstablished starts the session's pump once the CONNACK is written.
func (h *Hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.sessions[cl.ID]
	if !ok || s.cl != cl || h.stopped || cl.Closed() {
		return
	}
	s.pump = newPump(h, s, cl)
	h.wg.Add(1)
	go s.pump.run()
}

// stopPump stops s's pump (if it belongs to cl, or any pump when cl is nil)
// and waits for it.
func (h *Hook) stopPump(s *session, cl *mqtt.Client) {
	h.mu.Lock()
	p := s.pump
	if p == nil || (cl != nil && p.cl != cl) {
		h.mu.Unlock()
		return
	}
	s.pump = nil
	h.mu.Unlock()
	p.stop()
}

// OnDisconnect stops the pump and records the disconnect time (the start of
// the session expiry), or deletes the session when it ends with the
// connection. A disconnect of a client that was taken over, or of a client
// mochi restored from the store at start, changes nothing.
func (h *Hook) OnDisconnect(cl *mqtt.Client, _ error, expire bool) {
	s := h.detach(cl)
	if s == nil {
		return
	}
	var op persist.Op
	if expire || !persistent(cl) {
		op = persist.DeleteSessionOp(cl.ID)
	} else {
		op = persist.PutSessionOp(sessionRecord(cl, h.now().UnixMilli()))
	}
	if _, err := h.apply([]persist.Op{op}); err != nil {
		h.log.Error().Err(err).Str(logfield.ClientID, cl.ID).Msg("durable disconnect write failed")
		return
	}
	if op.Kind == persist.OpDeleteSession {
		h.mu.Lock()
		if h.sessions[cl.ID] == s && s.cl == nil {
			h.deleteSessionLocked(cl.ID)
		}
		h.mu.Unlock()
	}
}

// detach stops the pump of cl's session and marks the session offline, when cl
// is the session's current client; it returns the session, or nil when cl is
// not current (taken over, or restored at start).
func (h *Hook) detach(cl *mqtt.Client) *session {
	h.mu.Lock()
	s, ok := h.sessions[cl.ID]
	current := ok && s.cl == cl
	h.mu.Unlock()
	if !current {
		return nil
	}
	h.stopPump(s, cl)
	h.mu.Lock()
	if s.cl == cl {
		s.cl = nil
	}
	h.mu.Unlock()
	return s
}

// OnClientExpired deletes the stored session mochi expired.
func (h *Hook) OnClientExpired(cl *mqtt.Client) {
	h.mu.Lock()
	s, ok := h.sessions[cl.ID]
	h.mu.Unlock()
	if !ok || s.cl != nil {
		return
	}
	h.deleteSessions([]string{cl.ID})
}

// deleteSessions deletes offline sessions through the node and forgets them.
func (h *Hook) deleteSessions(ids []string) {
	ops := make([]persist.Op, 0, len(ids))
	for _, id := range ids {
		ops = append(ops, persist.DeleteSessionOp(id))
	}
	if _, err := h.apply(ops); err != nil {
		h.log.Error().Err(err).Int(logfield.Count, len(ids)).Msg("session expiry failed")
		return
	}
	h.mu.Lock()
	for _, id := range ids {
		if s, ok := h.sessions[id]; ok && s.cl == nil {
			h.deleteSessionLocked(id)
		}
	}
	h.mu.Unlock()
}

// OnSubscribe remembers, for each filter of an owned client, whether the
// subscription existed (retain handling 1). The packet is returned unchanged.
func (h *Hook) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	h.mu.Lock()
	s, ok := h.sessions[cl.ID]
	if ok && s.cl == cl {
		s.existed = s.existed[:0]
		for _, f := range pk.Filters {
			_, had := cl.State.Subscriptions.Get(f.Filter)
			s.existed = append(s.existed, had)
		}
	}
	h.mu.Unlock()
	return pk
}

// OnSubscribed stores the granted subscriptions before the SUBACK and lines up
// the retained messages the pump sends after it. A failed write stops the
// client: it never gets a SUBACK for what is not durable.
func (h *Hook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	h.mu.Lock()
	s, ok := h.sessions[cl.ID]
	h.mu.Unlock()
	if !ok || s.cl != cl {
		return
	}
	var ops []persist.Op
	for i, f := range pk.Filters {
		if i < len(codes) && codes[i] < packets.ErrUnspecifiedError.Code {
			ops = append(ops, persist.PutSubscriptionOp(cl.ID, subscriptionFromPacket(&f)))
		}
	}
	if len(ops) == 0 {
		return
	}
	if _, err := h.apply(ops); err != nil {
		h.log.Error().Err(err).Str(logfield.ClientID, cl.ID).Msg("durable subscribe failed")
		cl.Stop(packets.ErrUnspecifiedError)
		return
	}
	var ret []persist.Message
	for i, f := range pk.Filters {
		if i >= len(codes) || codes[i] >= packets.ErrUnspecifiedError.Code || isShared(f.Filter) {
			continue
		}
		existed := false
		h.mu.Lock()
		if i < len(s.existed) {
			existed = s.existed[i]
		}
		h.mu.Unlock()
		if f.RetainHandling == 2 || (f.RetainHandling == 1 && existed) { // [MQTT-3.3.1-10] [MQTT-3.3.1-11]
			continue
		}
		for _, r := range h.opts.Server.Topics.Messages(f.Filter) {
			if !h.opts.ACL.Check(s.username, s.id, r.TopicName, aclRead) {
				continue
			}
			m := messageFromPacket(&r, min(r.FixedHeader.Qos, codes[i]), true, sortedIDs(f.Identifier), r.Created*1000, 0)
			ret = append(ret, m)
		}
	}
	h.mu.Lock()
	s.pendingRetained = append(s.pendingRetained, ret...)
	h.mu.Unlock()
}

// OnPacketSent hands the retained messages of a SUBSCRIBE to the pump once
// the SUBACK is on the wire.
func (h *Hook) OnPacketSent(cl *mqtt.Client, pk packets.Packet, _ []byte) {
	if pk.FixedHeader.Type != packets.Suback {
		return
	}
	h.mu.Lock()
	s, ok := h.sessions[cl.ID]
	var ret []persist.Message
	if ok && s.cl == cl {
		ret, s.pendingRetained = s.pendingRetained, nil
	}
	h.mu.Unlock()
	for _, m := range ret {
		s.pushRetained(h, m)
	}
}

// OnUnsubscribed deletes the subscriptions before the UNSUBACK.
func (h *Hook) OnUnsubscribed(cl *mqtt.Client, pk packets.Packet) {
	if !h.owns(cl.ID) {
		return
	}
	ops := make([]persist.Op, 0, len(pk.Filters))
	for _, f := range pk.Filters {
		ops = append(ops, persist.DeleteSubscriptionOp(cl.ID, f.Filter))
	}
	if len(ops) == 0 {
		return
	}
	if _, err := h.apply(ops); err != nil {
		h.log.Error().Err(err).Str(logfield.ClientID, cl.ID).Msg("durable unsubscribe failed")
		cl.Stop(packets.ErrUnspecifiedError)
	}
}

// OnPacketRead takes the client's PUBACK, PUBREC and PUBCOMP of an owned
// session for the pump (they can only answer the pump's PUBLISH and PUBREL:
// mochi delivers nothing to owned sessions) and hands mochi a PUBACK for
// packet id 0 instead, which processPuback ignores: mochi's in-flight map,
// where it keeps the client's inbound QoS 2 ids, is never touched.
func (h *Hook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	switch pk.FixedHeader.Type {
	case packets.Puback, packets.Pubrec, packets.Pubcomp:
	default:
		return pk, nil
	}
	h.mu.Lock()
	s, ok := h.sessions[cl.ID]
	var p *pump
	if ok && s.cl == cl {
		p = s.pump
	}
	h.mu.Unlock()
	if p == nil {
		if ok {
			return neutral(), nil
		}
		return pk, nil
	}
	p.ack(pk)
	return neutral(), nil
}

// neutral is the packet mochi gets instead of an intercepted ack.
func neutral() packets.Packet {
	return packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}}
}

// isShared reports whether filter is a shared subscription (malformed shares
// included: mochi refuses those before storage sees them).
func isShared(filter string) bool {
	_, _, ok, _ := mqtttopic.ParseShared(filter)
	return ok
}

// sortedIDs returns the subscription identifier list of one id (0 = none).
func sortedIDs(id int) []int {
	if id == 0 {
		return nil
	}
	return []int{id}
}
