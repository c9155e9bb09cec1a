// Package cluster is imqtt's replicated write path: a hashicorp/raft node
// (even a single node is a one-voter cluster that bootstraps itself), its log
// store, and a batcher that packs concurrent commands into raft entries.
//
// # What it owns
//
// Everything under Config.DataDir/raft: the log + stable store (raft-wal under
// wal/ or Badger under log/, Config.LogStore, default Badger), the snapshots
// (snapshots/, two kept) and the LOCK file; Config.DataDir/cluster.secret
// when no secret is configured (created by a node that bootstraps); the
// cluster port on Config.BindAddr (raft, forwarded writes, routing links);
// the goroutines of the batcher and the leader observer.
//
// # Authentication
//
// Every connection on the cluster port, accepted or dialled, starts with a
// mutual proof of the cluster secret (handshake.go: HMAC-SHA256 over fresh
// nonces of both sides, within Config.HandshakeTimeout), inside TLS when
// Config.TLS is set (TLS alone when no secret is configured). Nothing else is
// read or written before both proofs passed; a failure closes the
// connection, is logged (rate-limited) and counted (HandshakeStats). Join
// adds a voter only after the leader dialled it and it proved the secret and
// its id. Only nodes holding the secret join, read or write the replicated
// state. The secret authenticates, it does not encrypt: use TLS on networks
// that are not trusted. It
// does not own the StateMachine: the caller (persist) builds it, passes it to
// Open and closes it after Close.
//
// cluster does not know what commands mean and imports none of imqtt's
// packages. The contract with the state is the StateMachine interface.
//
// # Call order
//
//	sm := ...                       // durable state; AppliedIndex survives restarts
//	n, err := cluster.Open(ctx, cfg, sm, log)
//	err = n.WaitReady(ctx)          // leader known, committed entries applied
//	res, err := n.Apply(ctx, cmd)   // any number of goroutines
//	...
//	err = n.Close()                 // idempotent; then sm can be closed
//
// Apply blocks until the command is committed on a quorum (fsync'd) and
// applied locally, and returns the StateMachine's result for that command.
// Concurrent Apply calls share raft entries: the batcher flushes at
// Config.BatchMaxCommands commands, Config.BatchMaxBytes bytes or
// Config.BatchMaxDelay after the first command, whichever comes first.
//
// # Errors
//
// Apply returns ErrNotLeader (a *NotLeaderError naming the leader, the seam for
// forwarding) on a follower, ErrNoQuorum when no leader can commit within
// Config.ApplyTimeout, ErrTimeout when the commit did not finish in time,
// ctx.Err() and ErrClosed. Join (and JoinForward, JoinVia) returns
// ErrPeerUnauthenticated when the node to add did not prove the cluster
// secret; dials of the cluster port return it for a peer that did not.
// After ErrNoQuorum, ErrTimeout, ctx.Err() or
// ErrClosed the command's outcome is unknown: it may still commit. Callers
// must not acknowledge what they cannot prove committed.
//
// # Invariants
//
//   - Every committed entry is applied to the StateMachine exactly once per
//     state: entries at or below StateMachine.AppliedIndex are skipped
//     (idempotent replay after a restart or a snapshot restore).
//   - A node with raft state never bootstraps again; a StateMachine with
//     applied entries is never paired with an empty raft directory.
//   - Close waits for every goroutine the Node started; after it returns
//     the StateMachine is not called.
//
// DESIGN.md in this directory describes the lifecycle, the entry and snapshot
// formats, the log store choice with measurements, the lock order and what
// changes for multi-node clusters.
package cluster
