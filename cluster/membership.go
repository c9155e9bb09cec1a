package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Join adds the node id, reachable at addr (its Config.AdvertiseAddr or bound
// address), as a voter. It must run on the leader (else ErrNotLeader / a
// *NotLeaderError, or ErrNoQuorum with no leader) and returns once the new
// configuration is committed. Joining a voter already present with the same
// address is a no-op; the same id with a new address updates the address.
// The new node must have been opened with Bootstrap false and no raft state;
// it then receives a snapshot and the log from the leader.
//
// An address is not proof: before the change the leader dials addr and the
// node there must complete the handshake (prove the cluster secret, or the
// TLS identity) and name itself id (probe.go). Otherwise nothing changes and
// Join returns ErrPeerUnauthenticated (unreachable, wrong or no secret) or
// ErrInvalidConfig (another id answered).
//
// ctx is checked before the change is proposed and bounds the probe and the
// time raft may take to accept the change; once proposed the change runs to
// commit or to leadership loss (bounded by raft's LeaderLeaseTimeout), and
// Close waits for it.
func (n *Node) Join(ctx context.Context, id, addr string) error {
	if err := validateID("join id", id); err != nil {
		return err
	}
	if _, err := checkHostPort(addr, false); err != nil {
		return fmt.Errorf("%w: join address %q: %v", ErrInvalidConfig, addr, err)
	}
	return n.membershipOp(ctx, func(cfg raft.Configuration) (raft.Future, error) {
		for _, s := range cfg.Servers {
			if string(s.ID) == id && string(s.Address) == addr && s.Suffrage == raft.Voter {
				return nil, nil
			}
		}
		if err := n.probePeer(ctx, id, addr); err != nil {
			n.log.Warn().Err(err).Str(logfield.PeerID, id).Str(logfield.Addr, addr).Msg("join refused: the node did not prove the cluster secret")
			return nil, err
		}
		return n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, n.opTimeout(ctx)), nil
	}, "raft voter added", id, addr)
}

// Remove removes the server id from the cluster configuration. It must run on
// the leader; removing an id that is not a member is a no-op. Removing the
// leader itself makes it step down once the change commits. ctx as for Join.
func (n *Node) Remove(ctx context.Context, id string) error {
	return n.membershipOp(ctx, func(cfg raft.Configuration) (raft.Future, error) {
		for _, s := range cfg.Servers {
			if string(s.ID) == id {
				return n.raft.RemoveServer(raft.ServerID(id), 0, n.opTimeout(ctx)), nil
			}
		}
		return nil, nil
	}, "raft server removed", id, "")
}

// membershipOp runs one configuration change on the leader. change returns
// the raft future of the change, nil for a no-op, or an error to refuse it.
func (n *Node) membershipOp(ctx context.Context, change func(raft.Configuration) (raft.Future, error), msg, id, addr string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !n.beginOp() {
		return ErrClosed
	}
	defer n.endOp()
	if err := n.leaderOnly(); err != nil {
		return err
	}
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return n.mapRaftError(err)
	}
	f, err := change(cf.Configuration())
	if err != nil || f == nil {
		return err
	}
	if err := f.Error(); err != nil {
		return n.mapRaftError(err)
	}
	n.log.Info().Str(logfield.PeerID, id).Str(logfield.Addr, addr).Msg(msg)
	return nil
}

// Snapshot makes raft take a snapshot now (and compact the log up to
// TrailingLogs behind it). Having nothing new to snapshot is not an error.
// It works on any node. ctx is checked before the request only.
func (n *Node) Snapshot(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !n.beginOp() {
		return ErrClosed
	}
	defer n.endOp()
	err := n.raft.Snapshot().Error()
	if err == nil || errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return nil
	}
	if errors.Is(err, raft.ErrRaftShutdown) {
		return ErrClosed
	}
	return fmt.Errorf("snapshot: %w", err)
}

// leaderOnly returns nil on the leader, else the error Apply would return
// without waiting.
func (n *Node) leaderOnly() error {
	if n.raft.State() == raft.Leader {
		return nil
	}
	addr, id := n.raft.LeaderWithID()
	if id != "" && string(id) != n.cfg.NodeID {
		return &NotLeaderError{LeaderID: string(id), LeaderAddr: string(addr)}
	}
	return fmt.Errorf("%w: no leader known", ErrNoQuorum)
}

// opTimeout is ApplyTimeout, or less when ctx has an earlier deadline.
func (n *Node) opTimeout(ctx context.Context) time.Duration {
	t := n.cfg.ApplyTimeout
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < t {
			t = max(d, time.Millisecond)
		}
	}
	return t
}
