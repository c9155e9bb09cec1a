package storage

import (
	"context"
	"fmt"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/persist"
)

// Publish makes p durable before the publisher's PUBACK/PUBREC (doc.go
// "Engine store"): one queued copy per target through the shared fan-out
// (full copies in one command, or a shared body with references, staged over
// several commands when they do not fit in one), the retained update and the
// publisher's inbound QoS 2 id in the same write. A retained update charged
// to a user with a bound is applied alone first, so a refusal by the quota
// (an error wrapping ext.ErrQuotaExceeded) writes nothing. A copy for a
// session whose queue is full is dropped (seq 0, counted, warned); the others
// are kept. It returns one seq per copy, in order.
func (e *EngineStore) Publish(ctx context.Context, p *ext.Publish) ([]uint64, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	m := &p.Message
	created := m.Created
	if created <= 0 {
		created = e.now().UnixMilli()
	}
	var head []persist.Op
	if p.Retain {
		op, limited := e.core.retainedUpdate(retainedRecord(m, created), p.Owner, p.Inline)
		var err error
		if head, err = e.core.applyRetained(ctx, op, limited); err != nil {
			if isQuota(err) {
				e.core.retainRefused(p.PublisherID, p.Owner, m.Topic, err)
			}
			return nil, fmt.Errorf("publish %q: retained: %w", m.Topic, err)
		}
	}

	seqs := make([]uint64, len(p.Copies))
	ops := make([]persist.Op, 0, len(p.Copies))
	idx := make([]int, 0, len(p.Copies)) // index in p.Copies of each op
	size := int64(len(m.Topic) + len(m.Payload))
	for i := range p.Copies {
		c := &p.Copies[i]
		if ok, limit := e.core.bound.reserve(c.ClientID, size); !ok {
			e.core.bound.dropped(c.ClientID, m.Topic, limit)
			continue
		}
		ops = append(ops, persist.EnqueueOp(c.ClientID, copyRecord(m, c, created, e.cfg.Retention)))
		idx = append(idx, i)
	}
	var tail []persist.Op
	if p.Inbound != 0 {
		tail = append(tail, persist.PutInflightOp(p.PublisherID, persist.Inflight{
			Dir: persist.Inbound, PacketID: p.Inbound,
			Message: persist.Message{Topic: m.Topic, QoS: m.QoS, Created: created},
		}))
	}
	got, err := e.core.enqueue(ctx, ops, head, tail, true)
	if err != nil {
		for _, i := range idx {
			e.core.bound.unreserve(p.Copies[i].ClientID, size)
		}
		return nil, fmt.Errorf("publish %q to %d sessions: %w", m.Topic, len(ops), err)
	}
	for k, i := range idx {
		seqs[i] = got[k]
	}
	return seqs, nil
}
