package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// snapshotMagic starts every snapshot this package writes; the state machine's
// own stream follows. The last byte is the format version.
const snapshotMagic = "IMQTTSNP\x01"

// entryResult is what fsm.Apply returns for one raft entry; the batcher's waiter
// hands results[i] to the caller of the i-th command.
type entryResult struct {
	results []any
	err     error
}

// fsm adapts a StateMachine to raft.FSM: it decodes batch entries, enforces the
// idempotent-replay rule and frames snapshots. Apply and Restore run on raft's
// FSM goroutine only.
type fsm struct {
	sm  StateMachine
	log zerolog.Logger
	// applied is the highest index the state machine holds: entries at or below
	// it are skipped. Written on the FSM goroutine, read by Status.
	applied atomic.Uint64
	// cmds is scratch for decodeEntry, reused across entries (FSM goroutine only).
	cmds [][]byte

	// appliedMu guards appliedCh, closed and replaced whenever applied moves
	// (waitApplied).
	appliedMu sync.Mutex
	appliedCh chan struct{}
}

func newFSM(sm StateMachine, applied uint64, log zerolog.Logger) *fsm {
	f := &fsm{sm: sm, log: log, appliedCh: make(chan struct{})}
	f.applied.Store(applied)
	return f
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Index <= f.applied.Load() {
		// Replay of an entry the durable state machine already holds.
		return nil
	}
	cmds, err := decodeEntry(l.Data, f.cmds)
	if err != nil {
		// Every node decodes the same bytes, so every node skips this entry.
		f.log.Error().Err(err).Uint64(logfield.Index, l.Index).Msg("skipping undecodable raft entry")
		return &entryResult{err: fmt.Errorf("entry %d: %w", l.Index, err)}
	}
	res := f.sm.Apply(l.Index, cmds)
	f.setApplied(l.Index)
	clear(cmds)
	f.cmds = cmds[:0]
	if len(res) != len(cmds) {
		f.log.Error().Uint64(logfield.Index, l.Index).Int(logfield.Commands, len(cmds)).Int(logfield.Results, len(res)).
			Msg("state machine returned a wrong number of results")
		return &entryResult{err: fmt.Errorf("entry %d: %d results for %d commands: %w", l.Index, len(res), len(cmds), ErrResultCount)}
	}
	return &entryResult{results: res}
}

// Snapshot implements raft.FSM. The state machine copies its state later, in
// Persist, concurrently with Apply (see StateMachine.Snapshot).
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{sm: f.sm}, nil
}

// Restore implements raft.FSM: a snapshot installed by the leader or by Open.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer func() { _ = rc.Close() }()
	applied, err := restoreInto(f.sm, rc)
	if err != nil {
		return err
	}
	f.setApplied(applied)
	f.log.Info().Uint64(logfield.Applied, applied).Msg("state machine restored from snapshot")
	return nil
}

// restoreInto checks the snapshot header, restores the state machine and
// returns its applied index afterwards.
func restoreInto(sm StateMachine, r io.Reader) (uint64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	hdr := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(br, hdr); err != nil {
		return 0, fmt.Errorf("%w: read header: %v", ErrBadSnapshot, err)
	}
	if string(hdr) != snapshotMagic {
		return 0, fmt.Errorf("%w: bad header %q", ErrBadSnapshot, hdr)
	}
	if err := sm.Restore(br); err != nil {
		return 0, fmt.Errorf("restore state machine: %w", err)
	}
	applied, err := sm.AppliedIndex()
	if err != nil {
		return 0, fmt.Errorf("applied index after restore: %w", err)
	}
	return applied, nil
}

// fsmSnapshot streams the state machine into a raft snapshot sink.
type fsmSnapshot struct {
	sm StateMachine
}

// Persist implements raft.FSMSnapshot; it runs concurrently with Apply.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	bw := bufio.NewWriterSize(sink, 64<<10)
	err := func() error {
		if _, err := bw.WriteString(snapshotMagic); err != nil {
			return err
		}
		if err := s.sm.Snapshot(bw); err != nil {
			return fmt.Errorf("state machine snapshot: %w", err)
		}
		return bw.Flush()
	}()
	if err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() {}

// setApplied records the applied index and wakes waitApplied callers.
func (f *fsm) setApplied(i uint64) {
	f.applied.Store(i)
	f.appliedMu.Lock()
	close(f.appliedCh)
	f.appliedCh = make(chan struct{})
	f.appliedMu.Unlock()
}

// waitApplied blocks until the state machine applied index i, ctx ends or
// stop is closed.
func (f *fsm) waitApplied(ctx context.Context, i uint64, stop <-chan struct{}) error {
	for {
		f.appliedMu.Lock()
		ch := f.appliedCh
		f.appliedMu.Unlock()
		if f.applied.Load() >= i {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return ErrClosed
		}
	}
}
