package storage

import (
	"fmt"

	"github.com/imqtt/imqtt/persist"
)

// Durable fan-out (doc.go "Fan-out"). A publish for many persistent sessions
// stores its message once (persist.PutBodyOp) and one small reference per
// target queue (persist.EnqueueRefOp), instead of one full copy per target
// in one raft command: the command's size no longer grows with the number of
// targets times the payload, so other users' sessions cannot push a publish
// over the command limit (cluster.batch_max_bytes).
const (
	// fanoutMinBytes: share one body once the copies (targets x (topic +
	// payload + copyOverhead)) would reach this many bytes. Below it, full
	// copies cost less than the body's extra writes (the body, its counter and
	// a reference count per target) and the command stays under 16 KiB.
	// persist BenchmarkFanout (enqueue + dequeue, 2 cores): 64-byte messages
	// to 16 targets take 0.2 ms as copies and 0.4 ms shared, to 256 targets
	// the same (~8 ms); 1 KiB to 16 targets 0.23 ms vs 0.19 ms; 16 KiB to 2
	// targets 0.1-0.25 ms vs 0.06-0.15 ms, to 256 targets 60 ms vs 6 ms.
	fanoutMinBytes = 16 << 10
	// copyOverhead approximates what a copy adds besides topic and payload
	// (op kind, client id, message fields).
	copyOverhead = 128
	// defaultMaxCommandBytes is cluster.batch_max_bytes's default, used when
	// Options.MaxCommandBytes is 0.
	defaultMaxCommandBytes = 1 << 20
	// commandSlack is kept free under the command limit for the framing of
	// the ops that the size estimate does not count exactly.
	commandSlack = 4 << 10
)

// useSharedBody reports whether n targets of a size-byte message go through
// a shared body.
func useSharedBody(n int, size int) bool {
	return n >= 2 && n*(size+copyOverhead) >= fanoutMinBytes
}

// enqueue makes the enqueue ops durable, with extra (the retained update)
// in the first command, and returns each enqueue's queue seq. Copies (or a
// shared body with references) are split over several commands when they do
// not fit in one: see doc.go "Fan-out" for what a crash between them means.
func (h *Hook) enqueue(ops, extra []persist.Op) ([]uint64, error) {
	seqs := make([]uint64, len(ops))
	if len(ops) == 0 || !useSharedBody(len(ops), len(ops[0].Message.Topic)+len(ops[0].Message.Payload)) {
		if len(ops)+len(extra) == 0 {
			return seqs, nil
		}
		rs, err := h.apply(append(ops[:len(ops):len(ops)], extra...))
		if err != nil {
			return nil, err
		}
		for i := range ops {
			seqs[i] = rs[i].Seq
		}
		return seqs, nil
	}
	body := *ops[0].Message
	body.QoS, body.Retain, body.Properties.SubscriptionIDs = 0, false, nil
	bodyBytes, err := body.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	limit := h.opts.MaxCommandBytes
	if limit <= 0 {
		limit = defaultMaxCommandBytes
	}
	budget := limit - commandSlack

	// First command: the extra ops, the body, as many references as fit.
	first := append(extra[:len(extra):len(extra)], persist.PutBodyOp(body))
	bodyAt := len(extra)
	size := len(bodyBytes) + 16
	for _, op := range extra {
		if op.Message != nil {
			size += len(op.Message.Topic) + len(op.Message.Payload) + 64
		}
	}
	var bodyID uint64
	next := 0
	for cmd := first; next < len(ops) || cmd != nil; cmd, size = nil, 0 {
		start := next
		for ; next < len(ops); next++ {
			m := ops[next].Message
			op, n := ops[next], len(bodyBytes)+len(ops[next].Client)+5*len(m.Properties.SubscriptionIDs)+64
			if len(m.Properties.SubscriptionIDs) <= maxRefSubscriptionIDs {
				ref := persist.QueueRef{Body: bodyID, QoS: m.QoS, Retain: m.Retain, Expiry: m.Expiry,
					SubscriptionIDs: m.Properties.SubscriptionIDs}
				op, n = persist.EnqueueRefOp(ops[next].Client, ref), refOpSize(ops[next].Client, &ref)
			} // else a full copy: too many identifiers for a reference
			if size+n > budget && next > start {
				break
			}
			size += n
			cmd = append(cmd, op)
		}
		rs, err := h.apply(cmd)
		if err != nil {
			return nil, err
		}
		off := len(cmd) - (next - start)
		if bodyID == 0 {
			bodyID = rs[bodyAt].Seq
		}
		for i := start; i < next; i++ {
			seqs[i] = rs[off+i-start].Seq
		}
	}
	return seqs, nil
}

// maxRefSubscriptionIDs is the most subscription identifiers a reference
// carries (a QueueRef record is at most 2 KiB: 26 bytes + 4 per id); a target
// matched by more of its own subscriptions gets a full copy instead, which
// costs its publisher's command one payload more but never an invalid op.
const maxRefSubscriptionIDs = 500

// refOpSize bounds the encoded size of an EnqueueRefOp: kind, client, the
// ref record (at most 3 + 3 uvarints of up to 10 bytes + the ids).
func refOpSize(client string, r *persist.QueueRef) int {
	return 1 + 3 + len(client) + 3 + 30 + 1 + 5*len(r.SubscriptionIDs)
}
