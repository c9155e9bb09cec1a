package cluster

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
)

// Status is a point-in-time view of the node for /readyz, the admin API and
// `imqttd cluster status`.
type Status struct {
	NodeID       string `json:"node_id"`
	Addr         string `json:"addr"`
	State        string `json:"state"` // Leader, Follower, Candidate or Shutdown
	LeaderID     string `json:"leader_id"`
	LeaderAddr   string `json:"leader_addr"`
	Term         uint64 `json:"term"`
	LastLogIndex uint64 `json:"last_log_index"`
	CommitIndex  uint64 `json:"commit_index"`
	// AppliedIndex is the last log index this node applied: commands reach
	// the state machine, raft's own entries (configuration, no-op) count too,
	// so a caught-up node has AppliedIndex == CommitIndex.
	AppliedIndex      uint64   `json:"applied_index"`
	LastSnapshotIndex uint64   `json:"last_snapshot_index"`
	Servers           []Server `json:"servers"`
	// Batch are the write batcher's counters (commands per entry, why
	// batches were flushed, log appends = fsyncs).
	Batch Stats `json:"batch"`
	// Handshakes counts the authentication of cluster connections: a
	// failure is a peer that did not prove the cluster secret (or TLS
	// identity), or was too slow to.
	Handshakes HandshakeStats `json:"handshakes"`
}

// Server is one member of the raft configuration.
type Server struct {
	ID    string `json:"id"`
	Addr  string `json:"addr"`
	Voter bool   `json:"voter"`
}

// Voters returns the ids of the voting members.
func (s Status) Voters() []string {
	var ids []string
	for _, srv := range s.Servers {
		if srv.Voter {
			ids = append(ids, srv.ID)
		}
	}
	return ids
}

// Status reports the node's raft view. It does not block on raft's main loop.
func (n *Node) Status() Status {
	addr, id := n.raft.LeaderWithID()
	st := Status{
		NodeID:       n.cfg.NodeID,
		Addr:         n.Addr(),
		State:        n.raft.State().String(),
		LeaderID:     string(id),
		LeaderAddr:   string(addr),
		Term:         n.raft.CurrentTerm(),
		LastLogIndex: n.raft.LastIndex(),
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: max(n.fsm.applied.Load(), n.raft.AppliedIndex()),
		Batch:        n.Stats(),
		Handshakes:   n.HandshakeStats(),
	}
	if v, err := strconv.ParseUint(n.raft.Stats()["last_snapshot_index"], 10, 64); err == nil {
		st.LastSnapshotIndex = v
	}
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			st.Servers = append(st.Servers, Server{ID: string(s.ID), Addr: string(s.Address), Voter: s.Suffrage == raft.Voter})
		}
	}
	return st
}

// Leader returns the current leader's id and address, empty when none is known.
func (n *Node) Leader() (id, addr string) {
	a, i := n.raft.LeaderWithID()
	return string(i), string(a)
}

// IsLeader reports whether this node is the raft leader now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Stats are the batcher's counters since Open.
type Stats struct {
	Entries       uint64 `json:"entries"`        // raft entries proposed
	Commands      uint64 `json:"commands"`       // commands packed into them
	FlushFull     uint64 `json:"flush_full"`     // batches flushed at BatchMaxCommands
	FlushBytes    uint64 `json:"flush_bytes"`    // batches flushed at BatchMaxBytes
	FlushDelay    uint64 `json:"flush_delay"`    // batches flushed after BatchMaxDelay
	FlushIdle     uint64 `json:"flush_idle"`     // batches flushed at once: no entry in flight (or BatchMaxDelay 0)
	Abandoned     uint64 `json:"abandoned"`      // commands dropped before proposal (ctx or timeout)
	ProposeErrors uint64 `json:"propose_errors"` // entries whose raft future failed
	Pending       int64  `json:"pending"`        // commands waiting in the batcher now
	LogAppends    uint64 `json:"log_appends"`    // raft log appends, one fsync each (all entries, not only this batcher's)
}

// Stats returns the batcher's counters.
func (n *Node) Stats() Stats {
	s := &n.batch.stats
	return Stats{
		Entries:       s.entries.Load(),
		Commands:      s.commands.Load(),
		FlushFull:     s.flushFull.Load(),
		FlushBytes:    s.flushBytes.Load(),
		FlushDelay:    s.flushDelay.Load(),
		FlushIdle:     s.flushIdle.Load(),
		Abandoned:     s.abandoned.Load(),
		ProposeErrors: s.proposeError.Load(),
		Pending:       s.queued.Load(),
		LogAppends:    n.logs.appends.Load(),
	}
}

// Ready returns nil when the node can serve: not closed, a leader is known,
// and the local state machine has caught up with what was committed when the
// node started. Catching up means: on the leader, a raft barrier issued after
// it won the election has completed (every earlier entry is applied); on a
// follower, raft has handed the state machine every entry up to the first
// commit index it learned from a leader. Otherwise it returns ErrClosed,
// ErrNoQuorum (no leader known) or ErrCatchingUp.
func (n *Node) Ready() error {
	select {
	case <-n.done:
		return ErrClosed
	default:
	}
	if _, id := n.raft.LeaderWithID(); id == "" {
		return fmt.Errorf("%w: no leader known", ErrNoQuorum)
	}
	if n.caughtUp.Load() {
		return nil
	}
	if n.raft.State() == raft.Follower {
		target := n.catchupTarget.Load()
		if target == 0 {
			if ci := n.raft.CommitIndex(); ci > 0 {
				n.catchupTarget.CompareAndSwap(0, ci)
				target = n.catchupTarget.Load()
			}
		}
		if target > 0 && n.raft.AppliedIndex() >= target {
			n.caughtUp.Store(true)
			return nil
		}
	}
	return ErrCatchingUp
}

// WaitReady blocks until Ready returns nil, ctx ends (ctx.Err()) or the node
// closes (ErrClosed).
func (n *Node) WaitReady(ctx context.Context) error {
	for {
		changed := n.leaderChanged()
		err := n.Ready()
		if err == nil || err == ErrClosed {
			return err
		}
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-n.done:
			t.Stop()
			return ErrClosed
		}
		t.Stop()
	}
}
