package storage

import (
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// event kinds in a pump's FIFO.
const (
	evDurable  = iota // send the queue through seq (0 with initial: through QueueSeq)
	evLive            // a QoS 0 message for an online session, from memory
	evRetained        // a retained message after a SUBACK (not durable)
)

type event struct {
	kind    int
	seq     uint64
	initial bool
	msg     persist.Message
}

// flight is one unacknowledged PUBLISH or PUBREL of the pump.
type flight struct {
	seq      uint64 // queue seq; 0 for a non-durable (retained) message
	size     int64
	qos      byte
	released bool // PUBREC received, PUBREL sent
	msg      persist.Message
}

// pump delivers one connected persistent session: its durable queue in seq
// order, interleaved with live QoS 0 and retained messages in arrival order,
// with its own packet ids (seq-derived for queued messages, so a re-send after
// a reconnect or restart reuses the id [MQTT-4.4.0-1]).
type pump struct {
	h  *Hook
	s  *session
	cl *mqtt.Client

	mu     sync.Mutex
	events []event
	acks   []packets.Packet
	wake   chan struct{}
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once

	// owned by run
	sent      uint64
	dequeued  uint64
	window    int
	inflight  map[uint16]*flight
	sentSizes []flight // seq,size of sent durable messages not yet dequeued
	dupBelow  uint64   // seqs <= dupBelow were written before on this node
	nextRetID uint16

	deq        chan error // the dequeue write in flight (nil: none), see dequeueStep
	deqThrough uint64     // its cursor
}

func newPump(h *Hook, s *session, cl *mqtt.Client) *pump {
	w := h.cfg.MaxInflight
	if cl.Properties.ProtocolVersion == 5 && cl.Properties.Props.ReceiveMaximum > 0 {
		w = min(w, int(cl.Properties.Props.ReceiveMaximum))
	}
	return &pump{
		h: h, s: s, cl: cl,
		events:    []event{{kind: evDurable, initial: true}},
		wake:      make(chan struct{}, 1),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		window:    w,
		inflight:  make(map[uint16]*flight),
		dupBelow:  s.sentSeq,
		nextRetID: 65535,
	}
}

// stop asks the pump to end and waits for it. Idempotent.
func (p *pump) stop() {
	p.once.Do(func() { close(p.quit) })
	<-p.done
}

func (p *pump) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *pump) push(e event) {
	p.mu.Lock()
	p.events = append(p.events, e)
	p.mu.Unlock()
	p.signal()
}

// ack queues a client's PUBACK/PUBREC/PUBCOMP for the pump. Never blocks.
func (p *pump) ack(pk packets.Packet) {
	p.mu.Lock()
	p.acks = append(p.acks, pk)
	p.mu.Unlock()
	p.signal()
}

// notify tells s's pump (if any) that seq is durable in its queue.
func (s *session) notify(h *Hook, seq uint64) {
	h.mu.Lock()
	p := s.pump
	h.mu.Unlock()
	if p != nil {
		p.push(event{kind: evDurable, seq: seq})
	}
}

// notifyQueue tells s's pump (if any) to send its queue through the last
// seq the store holds (a commit of staged references reports no seqs).
func (s *session) notifyQueue(h *Hook) {
	h.mu.Lock()
	p := s.pump
	h.mu.Unlock()
	if p != nil {
		p.push(event{kind: evDurable, initial: true})
	}
}

// maxPendingEvents bounds a pump's FIFO for live QoS 0 messages: past it a
// slow client loses QoS 0 messages instead of growing the broker's memory.
const maxPendingEvents = 10000

// pushLive hands a QoS 0 message to s's pump (dropped if it went offline or
// is maxPendingEvents behind).
func (s *session) pushLive(h *Hook, m persist.Message) {
	h.mu.Lock()
	p := s.pump
	h.mu.Unlock()
	if p == nil {
		return
	}
	p.mu.Lock()
	full := len(p.events) >= maxPendingEvents
	p.mu.Unlock()
	if full {
		h.log.Warn().Str(logfield.ClientID, s.id).Str(logfield.Reason, "pump backlog full").Msg("qos 0 message dropped")
		return
	}
	p.push(event{kind: evLive, msg: m})
}

// pushRetained hands a retained message to s's pump.
func (s *session) pushRetained(h *Hook, m persist.Message) {
	h.mu.Lock()
	p := s.pump
	h.mu.Unlock()
	if p != nil {
		p.push(event{kind: evRetained, msg: m})
	}
}

// pidFor is the packet id of queue seq.
func pidFor(seq uint64) uint16 { return uint16((seq-1)%65535 + 1) }

func (p *pump) run() {
	defer p.h.wg.Done()
	defer close(p.done)
	defer p.waitDequeue()
	if !p.resume() {
		return
	}
	for {
		if !p.handleAcks() {
			return
		}
		if !p.drain() {
			return
		}
		select {
		case <-p.quit:
			return
		case <-p.wake:
		}
	}
}

// resume re-sends PUBREL for every QoS 2 message whose PUBREC was made
// durable before the last disconnect or restart, and sets the cursor.
func (p *pump) resume() bool {
	fs, err := p.h.opts.Store.Inflight(p.s.id)
	if err != nil {
		p.h.log.Error().Err(err).Str(logfield.ClientID, p.s.id).Msg("load inflight failed")
		return false
	}
	for _, f := range fs {
		if f.Dir != persist.Outbound || !f.Released {
			continue
		}
		p.inflight[f.PacketID] = &flight{qos: 2, released: true, msg: f.Message}
		if !p.write(pubrel(f.PacketID)) {
			return false
		}
	}
	return true
}

func pubrel(id uint16) packets.Packet {
	return packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrel, Qos: 1}, PacketID: id}
}

func (p *pump) write(pk packets.Packet) bool {
	if err := p.cl.WritePacket(pk); err != nil {
		return false
	}
	return true
}

// handleAcks processes the queued acks: one durable write for the PUBREC
// records, the PUBCOMP deletions and the dequeue cursor, then the PUBRELs.
func (p *pump) handleAcks() bool {
	p.mu.Lock()
	acks := p.acks
	p.acks = nil
	p.mu.Unlock()
	var ops []persist.Op
	var rels []uint16
	for _, a := range acks {
		f, ok := p.inflight[a.PacketID]
		switch a.FixedHeader.Type {
		case packets.Puback:
			if ok && f.qos == 1 {
				delete(p.inflight, a.PacketID)
			}
		case packets.Pubrec:
			switch {
			case !ok:
				rels = append(rels, a.PacketID) // [MQTT-4.3.3-7] answer anyway
			case f.released:
				rels = append(rels, a.PacketID)
			case a.ReasonCode >= packets.ErrUnspecifiedError.Code: // refused by the client
				delete(p.inflight, a.PacketID)
			default:
				f.released = true
				if f.seq != 0 {
					ops = append(ops, persist.PutInflightOp(p.s.id, persist.Inflight{
						Dir: persist.Outbound, PacketID: a.PacketID, Released: true, Message: f.msg,
					}))
				}
				rels = append(rels, a.PacketID)
			}
		case packets.Pubcomp:
			if ok && f.released {
				delete(p.inflight, a.PacketID)
				ops = append(ops, persist.DeleteInflightOp(p.s.id, persist.Outbound, a.PacketID))
			}
		}
	}
	if len(ops) > 0 {
		// PUBREC records must be durable before the PUBREL goes out (exactly
		// once); PUBCOMP deletions and the dequeue cursor ride along in the same
		// entry, as a released record and its queued message must not both
		// survive a crash.
		through := p.ackedThrough()
		if through > p.dequeued {
			ops = append(ops, persist.DequeueThroughOp(p.s.id, through))
		}
		if _, err := p.h.apply(ops); err != nil {
			// Not durable: no PUBREL (the client re-sends PUBREC after a
			// reconnect, the PUBLISH is re-sent with DUP=1 and the same id).
			p.h.log.Error().Err(err).Str(logfield.ClientID, p.s.id).Msg("durable ack failed")
			p.cl.Stop(packets.ErrUnspecifiedError)
			return false
		}
		if through > p.dequeued {
			p.finishDequeue(through)
		}
	}
	if !p.dequeueStep() {
		return false
	}
	for _, id := range rels {
		if !p.write(pubrel(id)) {
			return false
		}
	}
	return true
}

// dequeueStep collects a finished dequeue write and starts the next one when
// acknowledgements moved the cursor. The write runs beside the pump, one at a
// time: delivery never waits for it. A message whose dequeue is not durable
// yet is only re-sent after a crash or reconnect (at least once), so the
// cursor needs no fsync before the next send; QoS 2 state does (handleAcks).
func (p *pump) dequeueStep() bool {
	if p.deq != nil {
		select {
		case err := <-p.deq:
			p.deq = nil
			if err != nil {
				// The messages were delivered; only the cursor did not move
				// (no quorum during a leader change, say). Keep the client: the
				// next acknowledgement retries, and what is not dequeued by a
				// crash is delivered again (at least once).
				p.h.log.Warn().Err(err).Str(logfield.ClientID, p.s.id).Msg("durable dequeue failed, will retry")
				return true
			}
			if p.deqThrough > p.dequeued {
				p.finishDequeue(p.deqThrough)
			}
		default:
			return true // still in flight
		}
	}
	through := p.ackedThrough()
	if through <= p.dequeued {
		return true
	}
	p.deq = make(chan error, 1)
	p.deqThrough = through
	id, deq := p.s.id, p.deq
	go func() {
		_, err := p.h.apply([]persist.Op{persist.DequeueThroughOp(id, through)})
		deq <- err
		p.signal()
	}()
	return true
}

// finishDequeue moves the cursor to through and releases the queue bytes of
// the messages it covers.
func (p *pump) finishDequeue(through uint64) {
	var freed []flight
	n := 0
	for _, sz := range p.sentSizes {
		if sz.seq <= through {
			freed = append(freed, sz)
			continue
		}
		p.sentSizes[n] = sz
		n++
	}
	p.sentSizes = p.sentSizes[:n]
	p.dequeued = through
	for _, f := range freed {
		p.h.core.bound.unreserve(p.s.id, f.size)
	}
}

// waitDequeue waits for a dequeue write in flight (the pump is ending).
func (p *pump) waitDequeue() {
	if p.deq != nil {
		if err := <-p.deq; err == nil && p.deqThrough > p.dequeued {
			p.finishDequeue(p.deqThrough)
		}
		p.deq = nil
	}
}

// ackedThrough is the highest seq below which every sent message is done.
func (p *pump) ackedThrough() uint64 {
	low := p.sent
	for _, f := range p.inflight {
		if f.seq != 0 && !f.released && f.seq-1 < low {
			low = f.seq - 1
		}
	}
	return low
}

// drain sends events in order while the window has room.
func (p *pump) drain() bool {
	for {
		p.mu.Lock()
		if len(p.events) == 0 {
			p.mu.Unlock()
			return true
		}
		e := p.events[0]
		p.mu.Unlock()
		progressed, ok := p.process(&e)
		if !ok {
			return false
		}
		if !progressed {
			return true // window full or id busy: wait for acks
		}
	}
}

func (p *pump) pop() {
	p.mu.Lock()
	p.events = p.events[1:]
	p.mu.Unlock()
}

// process handles the head event; progressed is false when it must wait.
func (p *pump) process(e *event) (progressed, ok bool) {
	switch e.kind {
	case evLive:
		p.pop()
		return true, p.write(packetFromMessage(&e.msg, 0, false))
	case evRetained:
		if e.msg.QoS == 0 {
			p.pop()
			return true, p.write(packetFromMessage(&e.msg, 0, false))
		}
		if len(p.inflight) >= p.window {
			return false, true
		}
		id := p.retainedID()
		if id == 0 {
			return false, true
		}
		p.inflight[id] = &flight{qos: e.msg.QoS, msg: e.msg}
		p.pop()
		return true, p.write(packetFromMessage(&e.msg, id, false))
	}
	if e.initial {
		seq, err := p.h.opts.Store.QueueSeq(p.s.id)
		if err != nil {
			p.h.log.Error().Err(err).Str(logfield.ClientID, p.s.id).Msg("read queue seq failed")
			return false, false
		}
		e.seq, e.initial = seq, false
		p.mu.Lock()
		p.events[0] = *e
		p.mu.Unlock()
	}
	p.coalesce(e)
	if p.sent >= e.seq {
		p.pop()
		return true, true
	}
	room := p.window - len(p.inflight)
	if room <= 0 {
		return false, true
	}
	want := int(min(uint64(room), e.seq-p.sent))
	qs, err := p.h.opts.Store.Queue(p.s.id, p.sent, want, p.h.now())
	if err != nil {
		p.h.log.Error().Err(err).Str(logfield.ClientID, p.s.id).Msg("read queue failed")
		return false, false
	}
	if len(qs) == 0 || qs[0].Seq > e.seq {
		p.sent = e.seq // expired or already gone
		p.pop()
		p.signal() // let the dequeue cursor move
		return true, true
	}
	sentAny := false
	for i := range qs {
		q := &qs[i]
		if q.Seq > e.seq {
			// later seqs wait for their own event: a live message may sit
			// between them in the FIFO (per-publisher order, MQTT 4.6)
			break
		}
		size := int64(len(q.Message.Topic) + len(q.Message.Payload))
		if q.Message.QoS == 0 {
			if !p.write(packetFromMessage(&q.Message, 0, false)) {
				return false, false
			}
		} else {
			id := pidFor(q.Seq)
			if _, busy := p.inflight[id]; busy {
				break
			}
			p.inflight[id] = &flight{seq: q.Seq, size: size, qos: q.Message.QoS, msg: q.Message}
			if !p.write(packetFromMessage(&q.Message, id, q.Seq <= p.dupBelow)) {
				return false, false
			}
		}
		p.sentSizes = append(p.sentSizes, flight{seq: q.Seq, size: size})
		p.sent = q.Seq
		sentAny = true
	}
	p.h.mu.Lock()
	if p.sent > p.s.sentSeq {
		p.s.sentSeq = p.sent
	}
	p.h.mu.Unlock()
	if sentAny {
		p.signal() // QoS 0 sends may have moved the dequeue cursor
	}
	return sentAny, true
}

// coalesce merges the durable events that follow the head e (with no live or
// retained message between them) into it: one queue read then covers them
// all. Seqs become durable in order (entries are applied in log order), so
// every seq up to the largest is readable, even if its own event is later in
// the FIFO.
func (p *pump) coalesce(e *event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	j := 1
	for j < len(p.events) && p.events[j].kind == evDurable && !p.events[j].initial {
		e.seq = max(e.seq, p.events[j].seq)
		j++
	}
	if j > 1 {
		p.events = p.events[j-1:]
		p.events[0] = *e
	}
}

// retainedID picks a free packet id for a non-durable message, counting down
// from 65535 (queued messages count up from their seq); 0 when none is free.
func (p *pump) retainedID() uint16 {
	for range 65535 {
		id := p.nextRetID
		p.nextRetID--
		if p.nextRetID == 0 {
			p.nextRetID = 65535
		}
		if _, busy := p.inflight[id]; !busy {
			return id
		}
	}
	return 0
}
