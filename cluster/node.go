package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// componentName is the value of the component field (logfield.Component) on this package's log events.
const componentName = "cluster"

// Node is one member of the raft cluster: the log, the transport, the raft
// state machine driver and the write path (Apply). Build it with Open; every
// method is safe for concurrent use; Close releases everything.
type Node struct {
	cfg    Config
	log    zerolog.Logger
	sm     StateMachine
	fsm    *fsm
	raft   *raft.Raft
	trans  *raft.NetworkTransport
	stream *tcpStream
	auth   *authenticator
	logs   *countingStore
	snaps  *raft.FileSnapshotStore
	lock   *dirLock
	batch  *batcher
	fwd    *forwarder
	codec  ResultCodec // nil when the state machine has none

	observer *raft.Observer
	obsCh    chan raft.Observation

	// done is closed when Close starts; every wait selects on it.
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	// wg tracks every goroutine the Node starts. goMu/closing stop new ones
	// from being added once Close has begun waiting.
	wg      sync.WaitGroup
	goMu    sync.Mutex
	closing bool

	// leaderMu guards leaderCh, closed and replaced on each leader change.
	leaderMu sync.Mutex
	leaderCh chan struct{}

	// Readiness latch (see Ready).
	caughtUp      atomic.Bool
	catchupTarget atomic.Uint64
	barrierActive atomic.Bool

	bootstrapped bool
}

// Open opens (or creates) the node's raft state under cfg.DataDir/raft and
// starts raft:
//
//  1. validate cfg, lock DataDir/raft/LOCK, open the log store (cfg.LogStore),
//     the file snapshot store and the TCP transport;
//  2. reconcile the state machine with raft (see DESIGN.md): raft state absent
//     but sm.AppliedIndex() > 0 is ErrStateMismatch; sm behind the newest
//     snapshot restores that snapshot into sm first;
//  3. with no raft state and cfg.Bootstrap, bootstrap a one-voter cluster of
//     this node (never again once state exists);
//  4. start raft (which replays committed entries above the state machine's
//     applied index), the leader observer and the batcher.
//
// Open does not wait for a leader: use WaitReady. ctx bounds the start-up steps
// before raft runs. On error everything opened so far is closed. The caller
// keeps ownership of sm and closes it after Node.Close.
func Open(ctx context.Context, cfg Config, sm StateMachine, log zerolog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if sm == nil {
		return nil, fmt.Errorf("%w: nil state machine", ErrInvalidConfig)
	}
	log = log.With().Str(logfield.Component, componentName).Str(logfield.NodeID, cfg.NodeID).Logger()
	n := &Node{
		cfg:      cfg,
		log:      log,
		sm:       sm,
		done:     make(chan struct{}),
		leaderCh: make(chan struct{}),
	}
	n.fwd = &forwarder{n: n, conns: map[string]*rpcConn{}}
	n.codec, _ = sm.(ResultCodec)
	if err := n.open(ctx); err != nil {
		n.closeStores()
		return nil, err
	}
	return n, nil
}

func (n *Node) open(ctx context.Context) error {
	cfg := n.cfg
	hl := newHCLog(n.log, "raft")
	dir := filepath.Join(cfg.DataDir, raftDirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create raft dir: %w", err)
	}
	lock, err := lockDir(filepath.Join(dir, lockFileName))
	if err != nil {
		return err
	}
	n.lock = lock
	store, err := openLogStore(cfg.LogStore, dir, n.log, hl)
	if err != nil {
		return err
	}
	n.logs = &countingStore{logStore: store}
	if n.snaps, err = raft.NewFileSnapshotStoreWithLogger(dir, snapshotsKept, hl.Named("snapshot")); err != nil {
		return fmt.Errorf("open snapshot store: %w", err)
	}
	var advertise net.Addr
	if cfg.AdvertiseAddr != "" {
		if advertise, err = net.ResolveTCPAddr("tcp", cfg.AdvertiseAddr); err != nil {
			return fmt.Errorf("%w: cluster.advertise_addr: %q: %v", ErrInvalidConfig, cfg.AdvertiseAddr, err)
		}
	}
	secret, err := loadSecret(cfg, n.log)
	if err != nil {
		return err
	}
	n.auth = &authenticator{secret: secret, timeout: cfg.HandshakeTimeout, log: n.log}
	if n.trans, n.stream, err = newTCPTransport(cfg.BindAddr, cfg.SourceAddr, cfg.TLS, advertise, n.auth, hl.Named("transport")); err != nil {
		return fmt.Errorf("raft transport on %s: %w", cfg.BindAddr, err)
	}
	n.stream.SetHandler(connRPC, n.serveRPC)
	n.stream.SetHandler(connHello, n.serveHello)
	if err := ctx.Err(); err != nil {
		return err
	}

	applied, snapIndex, hasState, err := n.reconcile(ctx)
	if err != nil {
		return err
	}

	rc := n.raftConfig(hl)
	if !hasState && cfg.Bootstrap && len(cfg.Join) == 0 {
		conf := raft.Configuration{Servers: []raft.Server{{
			Suffrage: raft.Voter,
			ID:       raft.ServerID(cfg.NodeID),
			Address:  n.trans.LocalAddr(),
		}}}
		if err := raft.BootstrapCluster(rc, n.logs, n.logs, n.snaps, n.trans, conf); err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
		n.bootstrapped = true
	}

	n.fsm = newFSM(n.sm, applied, n.log)
	cache, err := raft.NewLogCache(logCacheSize, n.logs)
	if err != nil {
		return fmt.Errorf("log cache: %w", err)
	}
	r, err := raft.NewRaft(rc, n.fsm, cache, n.logs, n.snaps, n.trans)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	n.raft = r

	// From here on Close does the cleanup.
	n.obsCh = make(chan raft.Observation, 64)
	n.observer = raft.NewObserver(n.obsCh, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	r.RegisterObserver(n.observer)
	n.batch = newBatcher(cfg, n.propose, n.mapRaftError, n.done)
	n.goTracked(n.observe)
	n.goTracked(n.batch.run)
	n.goTracked(n.batch.wait)

	n.log.Info().
		Str(logfield.Addr, string(n.trans.LocalAddr())).
		Str(logfield.LogStore, cfg.LogStore).
		Bool("bootstrapped", n.bootstrapped).
		Bool("existing_state", hasState).
		Uint64(logfield.Applied, applied).
		Uint64(logfield.Snapshot, snapIndex).
		Msg("raft node started")
	return nil
}

// reconcile brings the state machine and raft's snapshots in line before raft
// starts (raft runs with NoSnapshotRestoreOnStart: a durable state machine is
// not reloaded on every start). It returns the state machine's applied index,
// the newest snapshot's index and whether raft has any state.
func (n *Node) reconcile(ctx context.Context) (applied, snapIndex uint64, hasState bool, err error) {
	hasState, err = raft.HasExistingState(n.logs, n.logs, n.snaps)
	if err != nil {
		return 0, 0, false, fmt.Errorf("inspect raft state: %w", err)
	}
	applied, err = n.sm.AppliedIndex()
	if err != nil {
		return 0, 0, false, fmt.Errorf("state machine applied index: %w", err)
	}
	if !hasState {
		if applied > 0 {
			return 0, 0, false, fmt.Errorf("%w: state machine has applied index %d but %s has no raft state",
				ErrStateMismatch, applied, filepath.Join(n.cfg.DataDir, raftDirName))
		}
		return 0, 0, false, nil
	}
	snaps, err := n.snaps.List()
	if err != nil {
		return 0, 0, false, fmt.Errorf("list snapshots: %w", err)
	}
	if len(snaps) == 0 {
		return applied, 0, true, nil
	}
	newest := snaps[0]
	snapIndex = newest.Index
	if applied >= newest.Index {
		return applied, snapIndex, true, nil
	}
	// The state machine lost entries that only the snapshot still holds (the
	// log was compacted up to it): restore it, then raft replays the rest.
	if err := ctx.Err(); err != nil {
		return 0, 0, false, err
	}
	n.log.Info().Uint64(logfield.Applied, applied).Uint64(logfield.Snapshot, newest.Index).
		Msg("state machine behind snapshot, restoring")
	_, rc, err := n.snaps.Open(newest.ID)
	if err != nil {
		return 0, 0, false, fmt.Errorf("%w: open snapshot %s: %v", ErrStateMismatch, newest.ID, err)
	}
	applied, err = restoreInto(n.sm, rc)
	_ = rc.Close()
	if err != nil {
		return 0, 0, false, fmt.Errorf("%w: restore snapshot %s: %v", ErrStateMismatch, newest.ID, err)
	}
	if applied < newest.Index {
		return 0, 0, false, fmt.Errorf("%w: state machine at index %d after restoring snapshot %s of index %d",
			ErrStateMismatch, applied, newest.ID, newest.Index)
	}
	return applied, snapIndex, true, nil
}

func (n *Node) raftConfig(hl hclog.Logger) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.NodeID)
	rc.Logger = hl
	rc.HeartbeatTimeout = n.cfg.HeartbeatTimeout
	rc.ElectionTimeout = n.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = n.cfg.LeaderLeaseTimeout
	rc.SnapshotInterval = n.cfg.SnapshotInterval
	rc.SnapshotThreshold = n.cfg.SnapshotThreshold
	rc.TrailingLogs = n.cfg.TrailingLogs
	rc.CommitTimeout = n.cfg.CommitTimeout
	rc.NoSnapshotRestoreOnStart = true
	rc.BatchApplyCh = true
	rc.NoLegacyTelemetry = true
	return rc
}

// goTracked runs fn on a goroutine tracked by n.wg, unless Close has begun.
func (n *Node) goTracked(fn func()) bool {
	n.goMu.Lock()
	defer n.goMu.Unlock()
	if n.closing {
		return false
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
	return true
}

// Close stops the node; it is idempotent and safe to call concurrently.
//
// Order (see DESIGN.md, "Close"): close done, so Apply calls return ErrClosed
// at once and no new operation starts; the batcher fails its unproposed batch
// with ErrClosed and exits; then Close waits for every goroutine and operation
// of the Node while raft still runs, so each raft future they wait on (entries
// already proposed, a barrier, a membership change) completes, which takes at
// most about ApplyTimeout; then raft shuts down (waiting for its goroutines and
// closing the transport), the log store closes and the lock is released.
// Waiting before the shutdown matters: raft can leave a future that was queued
// for its FSM goroutine unanswered forever once it is shut down.
//
// After Close returns the StateMachine is no longer called.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		close(n.done)
		n.goMu.Lock()
		n.closing = true
		n.goMu.Unlock()
		n.fwd.close()
		n.wg.Wait()
		var errs []error
		if n.raft != nil {
			n.raft.DeregisterObserver(n.observer)
			if err := n.raft.Shutdown().Error(); err != nil {
				errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
			}
		}
		if err := n.closeStores(); err != nil {
			errs = append(errs, err)
		}
		n.closeErr = errors.Join(errs...)
		n.log.Info().Msg("raft node stopped")
	})
	return n.closeErr
}

// beginOp registers a caller-goroutine operation that waits on a raft future,
// so Close waits for it before shutting raft down. It returns false (and the
// caller returns ErrClosed) once Close has begun.
func (n *Node) beginOp() bool {
	n.goMu.Lock()
	defer n.goMu.Unlock()
	if n.closing {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
	}
	n.wg.Add(1)
	return true
}

// endOp ends an operation started with beginOp.
func (n *Node) endOp() { n.wg.Done() }

// closeStores closes the transport's connections, the log store and the lock.
// Used by Close (after raft shut down) and by a failed Open.
func (n *Node) closeStores() error {
	var errs []error
	if n.trans != nil {
		// raft.Shutdown closed the transport (and so the stream) if raft ran;
		// closing again is a no-op. CloseStreams drops the outbound pool.
		_ = n.trans.Close()
		n.trans.CloseStreams()
		_ = n.stream.Close()
	}
	if n.logs != nil {
		// n.logs stays set: Stats reads its counter after Close.
		if err := n.logs.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close log store: %w", err))
		}
	}
	if n.lock != nil {
		if err := n.lock.unlock(); err != nil {
			errs = append(errs, fmt.Errorf("release lock: %w", err))
		}
		n.lock = nil
	}
	return errors.Join(errs...)
}

// Addr is the raft transport address other nodes use to reach this one.
func (n *Node) Addr() string { return string(n.trans.LocalAddr()) }

// SetConnHandler serves the cluster port's connections of kind (for example
// ConnLink) with h, in a goroutine per connection owned by the node: h must
// return once its connection is closed; Close closes it.
func (n *Node) SetConnHandler(kind byte, h func(net.Conn)) { n.stream.SetHandler(kind, h) }

// DialPeer opens a connection of kind to another node's cluster port. The node
// closes it on Close.
func (n *Node) DialPeer(addr string, kind byte) (net.Conn, error) {
	return n.stream.DialKind(addr, kind, dialTimeout)
}

// SetLimitObserver makes the node count the connections it closes for a
// configured bound (cluster.handshake_timeout) with o. Call it once, early;
// refusals before it are not counted.
func (n *Node) SetLimitObserver(o LimitObserver) { n.auth.limits.Store(&o) }

// HandshakeStats returns the counters of cluster connection authentication.
func (n *Node) HandshakeStats() HandshakeStats { return n.auth.stats() }

// ID is this node's raft server id (Config.NodeID).
func (n *Node) ID() string { return n.cfg.NodeID }
