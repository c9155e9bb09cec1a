package cluster

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers compare with errors.Is; the returned errors may wrap them
// with more context.
var (
	// ErrClosed is returned by every call on a Node that is closing or closed. A
	// command that was already proposed when Close began may still have been
	// committed (it is in the log and is applied on the next Open).
	ErrClosed = errors.New("cluster: node closed")

	// ErrNotLeader is returned when this node is not the raft leader but another
	// node is. The error is a *NotLeaderError carrying the leader's id and
	// address (use errors.As), so the caller can forward the command there.
	ErrNotLeader = errors.New("cluster: not the leader")

	// ErrNoQuorum is returned when no leader could take the command within
	// Config.ApplyTimeout: no leader is elected (this node is on the minority side
	// of a partition, or an election is running), or leadership was lost while the
	// command was in flight. If the command had been proposed its outcome is
	// unknown: it may still be committed. Durable writes must be refused (no
	// PUBACK), never assumed done.
	ErrNoQuorum = errors.New("cluster: no quorum")

	// ErrTimeout is returned when a proposed command was not committed and
	// applied within Config.ApplyTimeout (overload, slow disk, or a quorum that
	// went away without the leader noticing yet). The outcome is unknown.
	ErrTimeout = errors.New("cluster: apply timed out")

	// ErrCommandTooLarge is returned by Apply for a command longer than
	// Config.BatchMaxBytes.
	ErrCommandTooLarge = errors.New("cluster: command too large")

	// ErrCatchingUp is returned by Ready while the local state machine has not
	// yet applied the entries that were committed when this node started.
	ErrCatchingUp = errors.New("cluster: catching up")

	// ErrInvalidConfig wraps every error returned by Config.Validate.
	ErrInvalidConfig = errors.New("cluster: invalid config")

	// ErrStateMismatch is returned by Open when the raft directory and the state
	// machine disagree in a way that would lose or duplicate commands: the state
	// machine has applied entries but raft has no state (a new cluster would
	// replay different commands under the same indexes), the state machine is
	// behind the newest snapshot and that snapshot cannot be restored, or the
	// data directory holds a log of a different Config.LogStore kind.
	ErrStateMismatch = errors.New("cluster: raft state and state machine disagree")

	// ErrLocked is returned by Open when another Node (in this or another
	// process) holds the raft directory.
	ErrLocked = errors.New("cluster: raft directory is locked")

	// ErrBadEntry is returned when a raft log entry is not a valid batch entry
	// (see the entry format in DESIGN.md). It means corruption or a version this
	// build does not understand; the entry's commands are not applied.
	ErrBadEntry = errors.New("cluster: malformed log entry")

	// ErrBadSnapshot is returned when a snapshot stream does not start with the
	// imqtt snapshot header.
	ErrBadSnapshot = errors.New("cluster: malformed snapshot")

	// ErrResultCount is the error every command of an entry gets when the
	// StateMachine returned a different number of results than commands (a bug
	// in the state machine).
	ErrResultCount = errors.New("cluster: state machine returned a wrong number of results")

	// ErrLogCorrupt is returned by the Badger log store for a stored record it
	// cannot decode.
	ErrLogCorrupt = errors.New("cluster: corrupt log record")

	// ErrKeyNotFound is returned by BadgerStore.Get and GetUint64 for a missing
	// key. Its text is exactly "not found": hashicorp/raft recognises a missing
	// stable key by that message, not by identity.
	ErrKeyNotFound = errors.New("not found")
)

// NotLeaderError is the error returned when another node leads. It matches
// ErrNotLeader with errors.Is. LeaderID and LeaderAddr are the raft server id and
// transport address of the leader as this node last heard them.
type NotLeaderError struct {
	LeaderID   string
	LeaderAddr string
}

// Error implements error.
func (e *NotLeaderError) Error() string {
	return fmt.Sprintf("cluster: not the leader (leader is %q at %s)", e.LeaderID, e.LeaderAddr)
}

// Unwrap makes errors.Is(err, ErrNotLeader) true.
func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }

// ErrPeerUnauthenticated is returned when a node at the other end of a
// cluster connection did not prove the cluster secret (or the TLS identity):
// by Join when the node to add cannot be reached or fails the handshake
// (nothing is changed), and by dials of the cluster port (raft, forwarded
// writes, routing links) to such a node.
var ErrPeerUnauthenticated = errors.New("cluster: peer did not prove the cluster secret")

// ErrRemote wraps an error the leader returned for a forwarded command that is
// none of the other sentinels (for example the state machine refused the
// command); the leader's message follows.
var ErrRemote = errors.New("cluster: refused by the leader")

// ErrForward is returned by ApplyForward when the connection to the leader was
// lost with the command sent: the outcome is unknown, as after ErrTimeout.
var ErrForward = errors.New("cluster: forwarding to the leader failed")
