package storage

import (
	"context"
	"fmt"

	"github.com/imqtt/imqtt/internal/logfield"
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

// enqueue makes the enqueue ops durable, with head (the retained update) in
// the first command and tail (an inbound QoS 2 record) in the last, and
// returns each enqueue's queue seq. A fan-out that does not fit in one
// command is staged (see doc.go "Fan-out"): its references get seq 0 unless
// wantSeqs, when the seqs the commit assigned are read back
// (persist.Store.RefSeqs from each target's QueueSeq read before the
// staging; 0 for one already dequeued). Only the commit makes the fan-out
// visible, and tail goes with it, so a failed fan-out records nothing that
// would make a re-sent PUBLISH look delivered.
func (c *core) enqueue(ctx context.Context, ops, head, tail []persist.Op, wantSeqs bool) ([]uint64, error) {
	seqs := make([]uint64, len(ops))
	if len(ops) == 0 || !useSharedBody(len(ops), len(ops[0].Message.Topic)+len(ops[0].Message.Payload)) {
		if len(ops)+len(head)+len(tail) == 0 {
			return seqs, nil
		}
		cmd := make([]persist.Op, 0, len(ops)+len(head)+len(tail))
		cmd = append(append(append(cmd, ops...), head...), tail...)
		rs, err := c.apply(ctx, cmd)
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
	limit := c.maxCommandBytes
	if limit <= 0 {
		limit = defaultMaxCommandBytes
	}
	budget := limit - commandSlack
	head0 := len(bodyBytes) + 16
	for _, op := range head {
		if op.Message != nil {
			head0 += len(op.Message.Topic) + len(op.Message.Payload) + 64
		}
	}
	tailSize := 0
	for _, op := range tail {
		tailSize += len(op.Client) + 64
		if op.Inflight != nil {
			tailSize += len(op.Inflight.Message.Topic) + len(op.Inflight.Message.Payload)
		}
	}

	// One item per target: a reference, or a full copy for a target with
	// more identifiers than a reference holds; copies go last (when staged,
	// into the last commands, next to the commit).
	type item struct {
		i    int // index in ops
		ref  *persist.QueueRef
		size int
	}
	items := make([]item, 0, len(ops))
	var copies []item
	for i := range ops {
		m := ops[i].Message
		if len(m.Properties.SubscriptionIDs) > maxRefSubscriptionIDs {
			copies = append(copies, item{i: i, size: len(bodyBytes) + len(ops[i].Client) + 5*len(m.Properties.SubscriptionIDs) + 64})
			continue
		}
		ref := &persist.QueueRef{QoS: m.QoS, Retain: m.Retain, Expiry: m.Expiry, SubscriptionIDs: m.Properties.SubscriptionIDs}
		items = append(items, item{i: i, ref: ref, size: refOpSize(ops[i].Client, ref)})
	}
	items = append(items, copies...)
	// Chunks: [start, end) of items per command, the first one after head0;
	// the last one keeps room for the commit and tail.
	var chunks [][2]int
	size, start := head0, 0
	for k, it := range items {
		if size+it.size > budget && k > start {
			chunks = append(chunks, [2]int{start, k})
			size, start = 0, k
		}
		size += it.size
	}
	if size+tailSize+16 > budget && len(items) > start+1 {
		// The tail does not fit beside the last chunk: move its last item
		// into a command of its own (with the commit and tail).
		chunks = append(chunks, [2]int{start, len(items) - 1})
		start = len(items) - 1
	}
	chunks = append(chunks, [2]int{start, len(items)})
	staged := len(chunks) > 1

	// The cursors RefSeqs scans from, read before anything is staged.
	var after []uint64
	if staged && wantSeqs {
		after = make([]uint64, len(ops))
		for _, it := range items {
			if it.ref == nil {
				continue
			}
			if after[it.i], err = c.store.QueueSeq(ops[it.i].Client); err != nil {
				return nil, fmt.Errorf("read queue seq: %w", err)
			}
		}
	}

	var bodyID uint64
	for n, ch := range chunks {
		var cmd []persist.Op
		if n == 0 {
			cmd = append(head[:len(head):len(head)], persist.PutBodyOp(body))
		}
		off := len(cmd)
		for _, it := range items[ch[0]:ch[1]] {
			switch {
			case it.ref == nil:
				cmd = append(cmd, ops[it.i])
			case staged:
				it.ref.Body = bodyID
				cmd = append(cmd, persist.StageRefOp(ops[it.i].Client, *it.ref))
			default:
				cmd = append(cmd, persist.EnqueueRefOp(ops[it.i].Client, *it.ref))
			}
		}
		if n == len(chunks)-1 {
			if staged {
				cmd = append(cmd, persist.CommitBodyOp(bodyID))
			}
			cmd = append(cmd, tail...)
		}
		rs, err := c.apply(ctx, cmd)
		if err != nil {
			if bodyID != 0 {
				c.dropStaged(bodyID)
			}
			return nil, err
		}
		if n == 0 {
			bodyID = rs[len(head)].Seq
		}
		for k, it := range items[ch[0]:ch[1]] {
			if it.ref == nil || !staged {
				seqs[it.i] = rs[off+k].Seq
			}
		}
	}
	if !staged {
		return seqs, nil
	}
	c.log.Debug().Int(logfield.Targets, len(ops)).Int(logfield.Count, len(chunks)).Msg("fan-out staged over several commands")
	if wantSeqs {
		var clients []string
		var cursors []uint64
		var idx []int
		for _, it := range items {
			if it.ref != nil {
				clients, cursors, idx = append(clients, ops[it.i].Client), append(cursors, after[it.i]), append(idx, it.i)
			}
		}
		got, err := c.store.RefSeqs(bodyID, clients, cursors)
		if err != nil {
			// Durable and acknowledged-worthy: the targets' queues hold it;
			// only the hand-over of these seqs is missing.
			c.log.Error().Err(err).Uint64(logfield.Seq, bodyID).Msg("read staged fan-out seqs failed")
		}
		for k, i := range idx {
			if k < len(got) {
				seqs[i] = got[k]
			}
		}
	}
	return seqs, nil
}

// sweepStaged drops the stagings of fan-outs whose commit never came and
// whose message has expired (the leader's sweep).
func (c *core) sweepStaged() {
	ids, err := c.store.StaleStaged(c.now(), 100)
	if err != nil {
		c.log.Error().Err(err).Msg("list stale stagings failed")
		return
	}
	for _, id := range ids {
		c.dropStaged(id)
	}
}

// dropStaged discards the staged references of a fan-out that failed
// before its commit, best effort: the leader's sweep drops what is left.
func (c *core) dropStaged(id uint64) {
	if _, err := c.apply(c.life, []persist.Op{persist.DropStagedOp(id)}); err != nil {
		c.log.Warn().Err(err).Uint64(logfield.Seq, id).Msg("drop of a failed fan-out's staging failed")
	}
}

// maxRefSubscriptionIDs is the most subscription identifiers a reference
// carries (a QueueRef record is at most 2 KiB: 26 bytes + 4 per id); a target
// matched by more of its own subscriptions gets a full copy instead, which
// costs its publisher's command one payload more but never an invalid op.
const maxRefSubscriptionIDs = 500

// refOpSize bounds the encoded size of an EnqueueRefOp or StageRefOp: kind, client, the
// ref record (at most 3 + 3 uvarints of up to 10 bytes + the ids).
func refOpSize(client string, r *persist.QueueRef) int {
	return 1 + 3 + len(client) + 3 + 30 + 1 + 5*len(r.SubscriptionIDs)
}
