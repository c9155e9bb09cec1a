package engine

import (
	"context"
	"maps"
	"slices"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Delivery to a durable session (doc.go "Durable sessions"): the queue is
// the store's, read in seq order; the session keeps the window (dstate).
// Queued messages go out under packet id ext.PacketIDFor(seq); the
// session's other QoS 1/2 deliveries (retained on SUBSCRIBE) take ids
// counted down from 65535 in s.inflight, and a seq whose id such a flight
// holds waits for it. Every function here runs with s.mu held.

// inUse is the number of outbound QoS 1/2 messages in flight (the window
// counts both kinds of flight and the released QoS 2 awaiting PUBCOMP).
func (s *session) inUse() int {
	n := len(s.inflight)
	if s.d != nil {
		n += len(s.d.win) + len(s.d.rel)
	}
	return n
}

// handoff is told that seq of s's queue is durable and carries dl (the
// publish's own copy): when it is the next to send and the window has room
// it goes from memory, else the store is read when its turn comes.
func (s *session) handoff(b *transport.Batch, seq uint64, dl delivery) {
	d := s.d
	if s.ended || d == nil {
		return
	}
	if d.high != unknownHigh && seq > d.high {
		d.high = seq
	}
	if s.live() == nil || seq <= d.next {
		return
	}
	if seq == d.next+1 && d.high != unknownHigh && s.inUse() < s.window() {
		if !s.sendSeq(b, seq, dl) {
			return
		}
	}
	s.fillDurable(b)
}

// fillDurable sends queued messages from the store while the window has
// room.
func (s *session) fillDurable(b *transport.Batch) {
	d := s.d
	defer s.advance()
	for s.live() != nil && d.next < d.high && s.inUse() < s.window() {
		limit := min(s.window()-s.inUse(), 256)
		qs, err := s.e.store.Queue(s.id, d.next, limit)
		if err != nil {
			s.e.log.Warn().Err(err).Str(logfield.ClientID, s.id).Msg("store queue read")
			return
		}
		for i := range qs {
			q := &qs[i]
			if q.Seq <= d.next {
				continue
			}
			if !s.sendSeq(b, q.Seq, delivery{m: loadedMessage(&q.Message), subIDs: q.SubIDs, qos: q.QoS, retain: q.Retain}) {
				return
			}
		}
		if len(qs) < limit { // nothing more was queued when it was read
			if d.high != unknownHigh {
				d.next = max(d.next, d.high) // the rest expired
			}
			d.high = d.next
		}
	}
}

// sendSeq sends queued message seq; false if it cannot go now (its id is
// taken, the connection is full or closed): it is read again later.
func (s *session) sendSeq(b *transport.Batch, seq uint64, dl delivery) bool {
	d, cl := s.d, s.cl
	var id uint16
	if dl.qos > 0 {
		id = ext.PacketIDFor(seq)
		if r, ok := d.rel[id]; ok && !r.failed {
			if r.seq == seq {
				// PUBREC'd, its Release not yet written (read again by a
				// resume): the client has it; it waits for PUBCOMP.
				d.next = seq
				return true
			}
			return false // the id is taken until its PUBCOMP
		}
		if _, used := s.inflight[id]; used {
			return false
		}
		if len(d.win) > 0 && seq-d.win[0].seq >= 65535 { // ids wrapped
			for _, f := range d.win {
				if f.id == id {
					return false
				}
			}
		}
	}
	t := now().Unix()
	if dl.qos == 0 && seq <= d.written {
		d.next = seq // sent before a reconnect: at most once
		return true
	}
	if dl.m.expired(t) { // [MQTT-3.3.2-5]
		d.next = seq
		return true
	}
	enc, bind := encodePublish(cl, dl, id, seq <= d.written, nil, t)
	if enc == nil || s.tooLarge(cl, enc) {
		d.next = seq
		return true
	}
	switch cl.queuePublish(b, enc, dl.m.topic, bind) {
	case transport.Refused:
		s.startDrain(cl)
		return false
	case transport.Closed:
		return false
	}
	d.next = seq
	d.written = max(d.written, seq)
	if dl.qos > 0 {
		d.win = append(d.win, dflight{seq: seq, id: id, qos: dl.qos})
	}
	return true
}

// advance moves the acknowledged prefix and queues its Dequeue: one loop
// per session at a time, which writes the latest prefix when it runs.
func (s *session) advance() {
	d := s.d
	p := d.prefix()
	if p <= d.acked {
		return
	}
	d.acked = p
	if d.deqBusy {
		return
	}
	d.deqBusy = true
	e := s.e
	e.write(s.id, func(ctx context.Context) {
		for {
			s.mu.Lock()
			through := d.acked
			if through <= d.deqd || s.ended {
				d.deqBusy = false
				s.mu.Unlock()
				return
			}
			s.mu.Unlock()
			err := e.store.Dequeue(ctx, s.id, through)
			s.mu.Lock()
			if err != nil {
				d.deqBusy = false
				s.mu.Unlock()
				e.log.Warn().Err(err).Str(logfield.ClientID, s.id).Msg("store dequeue")
				return
			}
			d.deqd = max(d.deqd, through)
			s.mu.Unlock()
		}
	})
}

// resumeDurable runs when a connection attaches: PUBREL for every released
// QoS 2 message [MQTT-4.4.0-1], and the queue is to be read again from the
// acknowledged prefix (fill; a message sent before goes with the same packet
// id, DUP set if this process wrote it).
func (s *session) resumeDurable(b *transport.Batch) {
	d := s.d
	for _, id := range slices.Sorted(maps.Keys(d.rel)) { // a stable order
		if r := d.rel[id]; r.stored {
			s.cl.ackPublish(b, packets.Pubrel, id, 0)
		}
	}
	d.next = d.prefix()
	d.win = nil
	for id, r := range d.rel {
		if r.failed { // sent again from the queue (DUP), PUBREC'd again
			delete(d.rel, id)
		}
	}
	if d.high != unknownHigh && d.high < d.next {
		d.high = d.next
	}
}

// ackDurable handles a PUBACK, PUBREC or PUBCOMP for a queued message; it
// reports false when id is not one of the durable window's.
func (s *session) ackDurable(b *transport.Batch, cl *client, pk *packets.Packet) bool {
	d := s.d
	id := pk.PacketID
	if pk.FixedHeader.Type == packets.Pubcomp {
		if _, ok := d.rel[id]; !ok {
			return false
		}
		delete(d.rel, id) // [MQTT-4.3.3-5]
		if len(d.rel) == 0 {
			d.rel = nil
		}
		e := s.e
		e.write(s.id, func(ctx context.Context) {
			if err := e.store.Complete(ctx, s.id, id); err != nil {
				e.log.Warn().Err(err).Str(logfield.ClientID, s.id).Msg("store complete")
			}
		})
		s.fill(b)
		return true
	}
	if r, ok := d.rel[id]; ok && pk.FixedHeader.Type == packets.Pubrec {
		if r.stored {
			cl.ackPublish(b, packets.Pubrel, id, 0) // a repeated PUBREC
		}
		return true
	}
	i := -1
	for j := range d.win {
		if d.win[j].id == id {
			i = j
			break
		}
	}
	if i < 0 {
		return false
	}
	f := &d.win[i]
	switch {
	case pk.FixedHeader.Type == packets.Puback && f.qos == 1: // [MQTT-4.3.2-3]
	case pk.FixedHeader.Type == packets.Pubrec && f.qos == 2 && f.rec:
		return true // a repeated PUBREC before its release
	case pk.FixedHeader.Type == packets.Pubrec && f.qos == 2:
		if pk.ReasonCode < 0x80 { // >= 0x80 ends the flow (4.3.3)
			// Released once every earlier message is acknowledged, so
			// Release dequeues through its own seq.
			f.rec = true
			s.releaseHead()
			s.fill(b)
			return true
		}
	default:
		return false
	}
	d.win = append(d.win[:i], d.win[i+1:]...)
	if len(d.win) == 0 {
		d.win = nil
	}
	s.releaseHead()
	s.fill(b)
	return true
}

// releaseHead releases the PUBREC'd messages at the head of the window:
// everything before each of them is acknowledged (or its Release queued
// first on the same writer), so its Release dequeues through its seq and
// the store's queue never holds a released message.
func (s *session) releaseHead() {
	d := s.d
	for len(d.win) > 0 && d.win[0].rec {
		f := d.win[0]
		d.win = d.win[1:]
		s.release(f)
	}
	if len(d.win) == 0 {
		d.win = nil
	}
}

// release records a PUBREC of the window's first message: Release
// (durable, dequeuing through its seq) first, then the PUBREL to the
// connection attached then [MQTT-4.3.3-4].
func (s *session) release(f dflight) {
	d := s.d
	if d.rel == nil {
		d.rel = make(map[uint16]relState, 1)
	}
	d.rel[f.id] = relState{seq: f.seq}
	e := s.e
	e.write(s.id, func(ctx context.Context) {
		err := e.store.Release(ctx, s.id, f.id, f.seq)
		s.mu.Lock()
		defer s.mu.Unlock()
		r, ok := d.rel[f.id]
		if !ok || r.seq != f.seq {
			return
		}
		if err != nil {
			// Not released: the message is sent again (DUP) after a
			// reconnect and its PUBREC answered then.
			e.log.Warn().Err(err).Str(logfield.ClientID, s.id).Msg("store release")
			r.failed = true
			d.rel[f.id] = r
			if s.cl != nil {
				s.cl.conn.Close(err)
			}
			return
		}
		r.stored = true
		d.rel[f.id] = r
		d.deqd = max(d.deqd, f.seq)
		if cl := s.live(); cl != nil { // else the resume sends it
			cl.ackPublish(nil, packets.Pubrel, f.id, 0)
		}
		s.advance()
	})
}

// nextDurableID is nextID for a durable session: counted down from 65535,
// skipping ids in flight of either kind.
func (s *session) nextDurableID() uint16 {
	d := s.d
	for range 65535 {
		s.lastID--
		if s.lastID == 0 {
			s.lastID = 65535
		}
		id := s.lastID
		if _, used := s.inflight[id]; used {
			continue
		}
		if _, used := d.rel[id]; used {
			continue
		}
		taken := false
		for _, f := range d.win {
			if f.id == id {
				taken = true
				break
			}
		}
		if !taken {
			return id
		}
	}
	return 0
}
