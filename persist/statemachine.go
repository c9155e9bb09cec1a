package persist

import (
	"errors"
	"fmt"
	"io"
)

// StateMachine adapts a Store to the raft layer's state machine interface
// (cluster.StateMachine: Apply(index, cmds [][]byte) []any, AppliedIndex,
// Snapshot, Restore), which it satisfies structurally: persist does not import
// cluster. Each command is one EncodeOps batch.
type StateMachine struct{ s *Store }

// StateMachine returns the raft adapter of s. The Store still owns everything:
// close the Store after the raft node.
func (s *Store) StateMachine() *StateMachine { return &StateMachine{s: s} }

// Apply decodes every command and applies them as one entry. The result of a
// command is its []Result (per-op errors such as a failed incr_raw are in
// Result.Err), or an error wrapping ErrCorruptRecord for a command that does not
// decode or holds an invalid op (deterministic: every node decodes the same
// bytes; the command is skipped). cmds may alias raft's buffers: decoding copies
// everything.
//
// A store error (I/O, ErrDiskFull, ErrClosed, a corrupt stored record) panics, as
// the raft layer's contract asks: Apply must not return with the entry unapplied.
// After the restart raft replays the entry; a split entry resumes where it stopped.
func (m *StateMachine) Apply(index uint64, cmds [][]byte) []any {
	out := make([]any, len(cmds))
	batches := make([][]Op, len(cmds))
	for i, c := range cmds {
		ops, err := DecodeOps(c)
		if err != nil {
			out[i] = fmt.Errorf("command %d: %w", i, err)
			continue
		}
		batches[i] = ops
	}
	res, err := m.s.Apply(index, batches)
	if errors.Is(err, ErrAlreadyApplied) {
		for i := range out {
			if out[i] == nil {
				out[i] = err
			}
		}
		return out
	}
	if err != nil {
		panic(fmt.Sprintf("persist: apply raft entry %d: %v", index, err))
	}
	for i, r := range res {
		if out[i] == nil {
			out[i] = r
		}
	}
	return out
}

// AppliedIndex returns the store's applied index.
func (m *StateMachine) AppliedIndex() (uint64, error) {
	m.s.mu.RLock()
	closed := m.s.closed
	m.s.mu.RUnlock()
	if closed {
		return 0, ErrClosed
	}
	return m.s.AppliedIndex(), nil
}

// Snapshot writes a point-in-time copy (Store.Snapshot).
func (m *StateMachine) Snapshot(w io.Writer) error { return m.s.Snapshot(w) }

// Restore replaces the state (Store.Restore).
func (m *StateMachine) Restore(r io.Reader) error { return m.s.Restore(r) }
