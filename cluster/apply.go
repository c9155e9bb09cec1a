package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/imqtt/imqtt/internal/logfield"
)

// leaderPoll re-checks leadership while waiting for a leader, in case a
// leader observation was dropped (raft drops them when the observer lags).
const leaderPoll = 100 * time.Millisecond

// Apply replicates cmd and returns the StateMachine's result for it. It blocks
// until the command is committed (fsync'd on a quorum) and applied locally, or
// until it fails:
//
//   - ErrNotLeader (a *NotLeaderError naming the leader) at once when another
//     node leads. Forwarding to the leader is the caller's job (the seam for
//     the node-to-node link).
//   - ErrNoQuorum when no leader is elected within Config.ApplyTimeout or
//     leadership was lost while the command was in flight.
//   - ErrTimeout when it was not committed and applied within ApplyTimeout.
//   - ctx.Err() when ctx ends first.
//   - ErrClosed when the node closes first.
//   - ErrCommandTooLarge when len(cmd) > Config.BatchMaxBytes.
//   - the state machine's result, when that result is a non-nil error.
//
// After ErrNoQuorum, ErrTimeout, ctx.Err() or ErrClosed the command may still
// be committed (and applied on every node) unless it had not yet been packed
// into an entry: a caller must treat the outcome as unknown, e.g. not
// acknowledge a QoS 1 publish; the state machine should make commands
// idempotent where a retry is expected.
//
// Apply takes ownership of cmd: it may be read after Apply returns early, until
// the batcher has copied it into an entry, so the caller must not modify it.
func (n *Node) Apply(ctx context.Context, cmd []byte) (any, error) {
	res, _, err := n.applyIndexed(ctx, cmd)
	return res, err
}

// applyIndexed is Apply that also returns the log index of the entry that held
// the command (0 when it was not committed).
func (n *Node) applyIndexed(ctx context.Context, cmd []byte) (any, uint64, error) {
	if len(cmd) > n.cfg.BatchMaxBytes {
		return nil, 0, fmt.Errorf("%w: %d bytes, limit %d", ErrCommandTooLarge, len(cmd), n.cfg.BatchMaxBytes)
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	select {
	case <-n.done:
		return nil, 0, ErrClosed
	default:
	}
	timer := time.NewTimer(n.cfg.ApplyTimeout)
	defer timer.Stop()
	if err := n.awaitLeadership(ctx, timer.C); err != nil {
		return nil, 0, err
	}

	req := &request{cmd: cmd, reply: make(chan reply, 1)}
	select {
	case n.batch.in <- req:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	case <-timer.C:
		return nil, 0, fmt.Errorf("%w: batch queue full for %s", ErrTimeout, n.cfg.ApplyTimeout)
	case <-n.done:
		return nil, 0, ErrClosed
	}
	select {
	case rep := <-req.reply:
		return rep.res, rep.index, rep.err
	case <-ctx.Done():
		req.state.CompareAndSwap(reqQueued, reqAbandoned)
		return nil, 0, ctx.Err()
	case <-timer.C:
		req.state.CompareAndSwap(reqQueued, reqAbandoned)
		return nil, 0, fmt.Errorf("%w: not applied within %s", ErrTimeout, n.cfg.ApplyTimeout)
	case <-n.done:
		return nil, 0, ErrClosed
	}
}

// awaitLeadership returns nil when this node is the leader, a *NotLeaderError
// when another node is, and waits while no leader is known.
func (n *Node) awaitLeadership(ctx context.Context, deadline <-chan time.Time) error {
	for {
		changed := n.leaderChanged() // before the checks, so no change is missed
		if n.raft.State() == raft.Leader {
			return nil
		}
		addr, id := n.raft.LeaderWithID()
		if id != "" && string(id) != n.cfg.NodeID {
			return &NotLeaderError{LeaderID: string(id), LeaderAddr: string(addr)}
		}
		poll := time.NewTimer(leaderPoll)
		select {
		case <-changed:
		case <-poll.C:
		case <-ctx.Done():
			poll.Stop()
			return ctx.Err()
		case <-deadline:
			poll.Stop()
			return fmt.Errorf("%w: no leader within %s", ErrNoQuorum, n.cfg.ApplyTimeout)
		case <-n.done:
			poll.Stop()
			return ErrClosed
		}
		poll.Stop()
	}
}

// propose hands one encoded entry to raft (batcher goroutine).
func (n *Node) propose(data []byte) raft.ApplyFuture {
	return n.raft.Apply(data, n.cfg.ApplyTimeout)
}

// mapRaftError turns a raft future error into this package's errors.
func (n *Node) mapRaftError(err error) error {
	switch {
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrClosed
	case errors.Is(err, raft.ErrNotLeader):
		addr, id := n.raft.LeaderWithID()
		if id != "" && string(id) != n.cfg.NodeID {
			return &NotLeaderError{LeaderID: string(id), LeaderAddr: string(addr)}
		}
		return fmt.Errorf("%w: %v", ErrNoQuorum, err)
	case errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress),
		errors.Is(err, raft.ErrAbortedByRestore):
		return fmt.Errorf("%w: %v", ErrNoQuorum, err)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	default:
		return fmt.Errorf("raft apply: %w", err)
	}
}

// leaderChanged returns a channel closed at the next leader change.
func (n *Node) leaderChanged() <-chan struct{} {
	n.leaderMu.Lock()
	defer n.leaderMu.Unlock()
	return n.leaderCh
}

// observe consumes raft's leader observations until Close: it logs leader
// changes, wakes Apply calls waiting for a leader and, when this node becomes
// leader, starts the catch-up barrier for Ready.
func (n *Node) observe() {
	for {
		select {
		case <-n.done:
			return
		case o := <-n.obsCh:
			lo, ok := o.Data.(raft.LeaderObservation)
			if !ok {
				continue
			}
			n.leaderMu.Lock()
			close(n.leaderCh)
			n.leaderCh = make(chan struct{})
			n.leaderMu.Unlock()
			n.log.Info().
				Str(logfield.LeaderID, string(lo.LeaderID)).
				Str(logfield.LeaderAddr, string(lo.LeaderAddr)).
				Uint64(logfield.Term, n.raft.CurrentTerm()).
				Msg("raft leader changed")
			if string(lo.LeaderID) == n.cfg.NodeID && !n.caughtUp.Load() && n.barrierActive.CompareAndSwap(false, true) {
				if !n.goTracked(n.catchUp) {
					n.barrierActive.Store(false)
				}
			}
		}
	}
}

// catchUp runs a raft barrier on a new leader: when it completes, every entry
// committed before this node's term is applied locally, so Ready may report
// ready. It retries while the node leads and stops on Close.
func (n *Node) catchUp() {
	defer n.barrierActive.Store(false)
	for {
		if n.raft.State() != raft.Leader {
			return
		}
		if err := n.raft.Barrier(n.cfg.ApplyTimeout).Error(); err == nil {
			n.caughtUp.Store(true)
			return
		} else if errors.Is(err, raft.ErrRaftShutdown) {
			return
		}
		t := time.NewTimer(leaderPoll)
		select {
		case <-n.done:
			t.Stop()
			return
		case <-t.C:
		}
	}
}
