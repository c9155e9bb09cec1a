package storage

import (
	"context"
	"fmt"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/persist"
)

// Queue reads up to limit (<= 0: the store's page) of clientID's queued
// messages with seq > after, in seq order, references resolved and expired
// messages left out.
func (e *EngineStore) Queue(clientID string, after uint64, limit int) ([]ext.Queued, error) {
	qs, err := e.opts.Store.Queue(clientID, after, limit, e.now())
	if err != nil {
		return nil, fmt.Errorf("read queue of %q: %w", clientID, err)
	}
	out := make([]ext.Queued, len(qs))
	for i := range qs {
		out[i] = queuedMessage(&qs[i])
	}
	return out, nil
}

// Dequeue removes clientID's queued messages with seq <= through, releasing
// the shared bodies they reference. The queue bound reloads the session's
// count at its next copy.
func (e *EngineStore) Dequeue(ctx context.Context, clientID string, through uint64) error {
	_, err := e.apply(ctx, []persist.Op{persist.DequeueThroughOp(clientID, through)})
	e.core.bound.forget(clientID)
	if err != nil {
		return fmt.Errorf("dequeue %q through %d: %w", clientID, through, err)
	}
	return nil
}

// Release records outbound QoS 2 packetID as released (PUBREC received) and
// dequeues through seq, in one write.
func (e *EngineStore) Release(ctx context.Context, clientID string, packetID uint16, seq uint64) error {
	ops := []persist.Op{
		persist.PutInflightOp(clientID, persist.Inflight{
			Dir: persist.Outbound, PacketID: packetID, Released: true, Message: persist.Message{QoS: 2},
		}),
		persist.DequeueThroughOp(clientID, seq),
	}
	_, err := e.apply(ctx, ops)
	e.core.bound.forget(clientID)
	if err != nil {
		return fmt.Errorf("release %q packet %d: %w", clientID, packetID, err)
	}
	return nil
}

// Complete forgets a released outbound packet id (its PUBCOMP).
func (e *EngineStore) Complete(ctx context.Context, clientID string, packetID uint16) error {
	if _, err := e.apply(ctx, []persist.Op{persist.DeleteInflightOp(clientID, persist.Outbound, packetID)}); err != nil {
		return fmt.Errorf("complete %q packet %d: %w", clientID, packetID, err)
	}
	return nil
}

// CompleteInbound forgets an inbound QoS 2 packet id (its PUBREL).
func (e *EngineStore) CompleteInbound(ctx context.Context, clientID string, packetID uint16) error {
	if _, err := e.apply(ctx, []persist.Op{persist.DeleteInflightOp(clientID, persist.Inbound, packetID)}); err != nil {
		return fmt.Errorf("complete inbound %q packet %d: %w", clientID, packetID, err)
	}
	return nil
}

// Flights reads clientID's stored in-flight state: released outbound QoS 2
// ids and inbound QoS 2 ids, each in packet id order.
func (e *EngineStore) Flights(clientID string) (ext.Flights, error) {
	fs, err := e.opts.Store.Inflight(clientID)
	if err != nil {
		return ext.Flights{}, fmt.Errorf("read in-flight of %q: %w", clientID, err)
	}
	var out ext.Flights
	for _, f := range fs {
		switch {
		case f.Dir == persist.Inbound:
			out.Inbound = append(out.Inbound, f.PacketID)
		case f.Released:
			out.Released = append(out.Released, f.PacketID)
		}
	}
	return out, nil
}
