package main

import (
	"bytes"
	"fmt"
	"strconv"
)

// The reader goroutines of an IM run: one per connection, each the owner of its
// connection's reads until the connection closes.

// readMember consumes deliveries on im/u/{user}/msg until the connection closes.
func (r *imRun) readMember(j int, m *imMember) {
	for {
		p, now, err := m.cl.readPublish(r.clk)
		if err != nil {
			if r.phase.Load() != phStopped {
				m.err = fmt.Errorf("member read: %w", err)
			}
			return
		}
		d, err := parseIMDown(p.Payload)
		if err != nil {
			m.corrupt.Add(1)
			continue
		}
		pub, seq, ok := parseCID(d.cid, r.runID)
		if !ok {
			continue // a notice (no cid) or another run's message
		}
		sentNS, bpub, bseq, ok := decodeIMBody(d.body)
		if !ok || bpub != pub || bseq != seq {
			m.corrupt.Add(1)
			continue
		}
		b := m.seen[pub]
		if b == nil {
			b = new(bitmap)
			m.seen[pub] = b
		}
		if b.set(seq) {
			m.dups.Add(1)
			continue
		}
		if n := m.received.Add(1); r.cfg.Receipts > 0 && n%int64(r.cfg.Receipts) == 0 {
			r.receipt(m, d)
		}
		if r.phase.Load() == phMeasure {
			m.measured.Add(1)
			r.lat.record(j, now-sentNS)
		}
	}
}

// readSender consumes PUBACKs and acks until the connection closes.
func (r *imRun) readSender(s *imSender) {
	v := s.cl.version
	for {
		typ, flags, body, err := s.cl.read()
		if err != nil {
			if r.phase.Load() != phStopped {
				s.err = fmt.Errorf("sender read: %w", err)
			}
			return
		}
		switch typ {
		case ptPuback:
			id, _, err := decodeAckID(v, typ, body)
			if err != nil {
				s.err = err
				return
			}
			// A v5 PUBACK >= 0x80 is a refusal; the ack topic reports it too.
			s.mu.Lock()
			_, ok := s.byID[id]
			delete(s.byID, id)
			s.mu.Unlock()
			if ok {
				s.pubacked.Add(1)
				s.tokens <- struct{}{}
			}
		case ptPublish:
			now := r.clk.now()
			p, err := decodePublish(v, flags, body)
			if err != nil {
				s.err = err
				return
			}
			if p.QoS > 0 {
				_ = s.cl.writePuback(p.ID)
				if s.cl.r.Buffered() == 0 {
					_ = s.cl.flush()
				}
			}
			if bytes.HasSuffix(p.Topic, []byte("/receipt")) {
				s.receipts.Add(1)
				continue
			}
			r.ack(s, p.Payload, now)
		}
	}
}

// ack books one message of the ack topic.
func (r *imRun) ack(s *imSender, payload []byte, now int64) {
	d, err := parseIMDown(payload)
	if err != nil {
		s.mu.Lock()
		if s.err == nil {
			s.err = fmt.Errorf("ack: %w", err)
		}
		s.mu.Unlock()
		return
	}
	pub, seq, mine := parseCID(d.cid, r.runID)
	mine = mine && pub == s.idx
	s.mu.Lock()
	defer s.mu.Unlock()
	if !d.ok {
		s.refused.Add(1)
		if s.refusal == "" {
			s.refusal = fmt.Sprintf("code %d %q", d.code, d.reason)
		}
		if mine {
			delete(s.sentAt, seq)
		}
		return
	}
	if !mine {
		return
	}
	sentNS, ok := s.sentAt[seq]
	if !ok {
		return // a second ack for the same send
	}
	delete(s.sentAt, seq)
	s.ackedSet.set(seq)
	s.acked.Add(1)
	if r.phase.Load() == phMeasure {
		r.ackLat.record(int(s.idx), now-sentNS)
	}
}

// receipt publishes a read receipt up to the message just delivered (QoS 0,
// from the member's reader goroutine, which owns the connection's writes).
func (r *imRun) receipt(m *imMember, d imDown) {
	if len(d.conv) == 0 || d.seq == 0 {
		return
	}
	body := strconv.AppendUint([]byte(`{"type":"read","seq":`), d.seq, 10)
	if m.cl.writePublish("im/receipt/"+string(d.conv), 0, 0, append(body, '}')) == nil && m.cl.flush() == nil {
		m.receipts.Add(1)
	}
}
