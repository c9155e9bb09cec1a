package storage

import (
	"errors"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// Wills across restarts. mochi keeps a delayed will only in memory, and never
// sends the will of a client that was connected when the node died. The hook
// keeps the will in the session record while it is pending (the record
// written at OnDisconnect still has it when mochi delayed it) and clears it
// once it is sent (OnWillSent). At start (StoredClients) every stored session
// is offline: one the crash left "connected" gets DisconnectedAt = now (its
// expiry starts), and every stored will is scheduled at DisconnectedAt +
// min(Will Delay Interval, Session Expiry Interval) [MQTT-3.1.3-9]; the
// will loop publishes it then, unless the client reconnected first
// (OnSessionEstablish cancels it). Single node: in a cluster, a session
// without DisconnectedAt may be connected to another node.

// willTick is how often the will loop looks for due wills.
const willTick = 250 * time.Millisecond

// pendingWill is a stored will waiting for its time.
type pendingWill struct {
	due  time.Time
	will persist.Will
}

// recoverSessions runs at start on the stored sessions (see above).
func (h *Hook) recoverSessions(ss []persist.Session) error {
	now := h.now()
	var ops []persist.Op
	h.mu.Lock()
	for i := range ss {
		s := &ss[i]
		if s.DisconnectedAt == 0 {
			s.DisconnectedAt = now.UnixMilli()
			ops = append(ops, persist.PutSessionOp(*s))
		}
		if s.Will == nil {
			continue
		}
		delay := time.Duration(s.Will.DelaySeconds) * time.Second
		if s.ProtocolVersion == 5 && s.SessionExpiry != persist.NeverExpires {
			delay = min(delay, time.Duration(s.SessionExpiry)*time.Second)
		}
		h.wills[s.ClientID] = pendingWill{due: time.UnixMilli(s.DisconnectedAt).Add(delay), will: *s.Will}
	}
	h.mu.Unlock()
	if len(ops) > 0 {
		if _, err := h.apply(ops); err != nil {
			return err
		}
	}
	return nil
}

// cancelWill drops a pending stored will of id (the client is back).
func (h *Hook) cancelWill(id string) {
	h.mu.Lock()
	delete(h.wills, id)
	h.mu.Unlock()
}

// willLoop publishes stored wills when they are due. Stopped by Stop.
func (h *Hook) willLoop() {
	defer h.wg.Done()
	t := time.NewTicker(willTick)
	defer t.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-t.C:
			h.sendDueWills()
		}
	}
}

// sendDueWills publishes every due will whose client has not reconnected.
func (h *Hook) sendDueWills() {
	now := h.now()
	type due struct {
		id string
		w  persist.Will
	}
	var ds []due
	h.mu.Lock()
	for id, p := range h.wills {
		if now.Before(p.due) {
			continue
		}
		delete(h.wills, id)
		if s, ok := h.sessions[id]; ok && s.cl != nil {
			continue // reconnected
		}
		ds = append(ds, due{id, p.will})
	}
	h.mu.Unlock()
	for _, d := range ds {
		pk := packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: d.w.QoS, Retain: d.w.Retain},
			TopicName:   d.w.Topic,
			Payload:     d.w.Payload,
			PacketID:    uint16(d.w.QoS), // mochi's validity check; never sent
		}
		for _, u := range d.w.Properties.UserProperties {
			pk.Properties.User = append(pk.Properties.User, packets.UserProperty{Key: u.Key, Val: u.Value})
		}
		if err := h.opts.Server.InjectPacket(h.willClient, pk); err != nil {
			h.log.Error().Err(err).Str(logfield.ClientID, d.id).Str(logfield.Topic, d.w.Topic).Msg("stored will not sent")
			continue
		}
		h.log.Info().Str(logfield.ClientID, d.id).Str(logfield.Topic, d.w.Topic).Msg("stored will sent")
		h.clearWill(d.id)
	}
}

// clearWill removes the will from id's stored record (it has been sent).
func (h *Hook) clearWill(id string) {
	s, err := h.opts.Store.Session(id)
	if errors.Is(err, persist.ErrNotFound) {
		return
	}
	if err != nil {
		h.log.Error().Err(err).Str(logfield.ClientID, id).Msg("read session failed")
		return
	}
	if s.Will == nil {
		return
	}
	s.Will = nil
	if _, err := h.apply([]persist.Op{persist.PutSessionOp(s)}); err != nil {
		h.log.Error().Err(err).Str(logfield.ClientID, id).Msg("clear sent will failed")
	}
}

// newWillClient is the inline client stored wills are published from.
func newWillClient(srv *mqtt.Server) *mqtt.Client {
	return srv.NewClient(nil, "local", "imqtt-storage-wills", true)
}
