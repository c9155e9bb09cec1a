package cluster

import "io"

// StateMachine is the replicated state: the node applies every committed
// command to it, in log order, on every node of the cluster. persist implements
// it over Badger; cluster does not know what the commands mean.
//
// Calls: Apply, Restore and AppliedIndex are made from one goroutine (raft's FSM
// goroutine, and Open before raft starts), never concurrently with each other.
// Snapshot runs on another goroutine, concurrently with Apply. No method is
// called after Node.Close returns; the owner closes the state machine after that.
type StateMachine interface {
	// Apply applies the commands packed into one raft log entry, atomically (all
	// of them and the new applied index, or none), and returns one result per
	// command, in order. It must be deterministic: the same commands on the same
	// state give the same state and results on every node. A result may be an
	// error value (a command refused by the state machine's rules); Node.Apply
	// returns it as the error. index is the raft log index of the entry.
	//
	// Idempotent replay: the Node skips every entry whose index is not above the
	// state machine's AppliedIndex (read at Open and after each Restore), so
	// Apply only ever sees increasing indexes above it; implementations need not
	// check again. The cmds slices alias raft's log buffer: read them during
	// Apply, copy what you keep, never modify them.
	//
	// Apply must not return having applied part of the entry. On an I/O error
	// that leaves the store unusable it should panic: the process restarts and
	// the entry is replayed from the raft log.
	Apply(index uint64, cmds [][]byte) []any

	// AppliedIndex returns the index of the last entry whose effects are in the
	// store (0 for an empty store). It must be durable together with those
	// effects: after a crash it may lag behind what Apply saw (the node replays
	// the gap from the raft log) but never run ahead of the state.
	AppliedIndex() (uint64, error)

	// Snapshot writes a consistent point-in-time copy of the whole state,
	// including the applied index of that point, to w. It runs concurrently with
	// Apply (it must not block Apply for long, e.g. a Badger read transaction),
	// and the copy may be of any point at or after the moment it is called: the
	// node records the raft index of the last entry applied before the call, and
	// entries after it that the copy already contains are skipped on replay
	// because Restore brings back their applied index.
	Snapshot(w io.Writer) error

	// Restore replaces all state with the copy read from r (written by Snapshot,
	// possibly on another node). Afterwards AppliedIndex must return the index
	// stored in the copy. It is not called concurrently with anything else.
	Restore(r io.Reader) error
}
