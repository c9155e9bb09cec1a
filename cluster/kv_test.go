package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// kvSM is the test state machine (scaffolding, not a mock of anything users
// run): every command is counted and gets a global sequence number; commands
// starting with "fail:" are refused with an error result. With a path it is
// durable: each applied entry is appended to a JSON-lines file (a Restore
// rewrites the file), and openKV reloads it.
type kvSM struct {
	mu   sync.Mutex
	path string
	f    *os.File

	applied uint64
	seq     uint64
	counts  map[string]int
	order   []string

	// gate, when set, blocks Apply of an entry holding gateCmd until closed;
	// entered is closed when such an Apply starts waiting.
	gate, entered chan struct{}

	// Observations for assertions.
	applyCalls int      // Apply calls since open
	replays    int      // Apply calls with index <= applied (the Node must skip those)
	indexes    []uint64 // indexes passed to Apply since open
	restores   int
}

// gateCmd is the command that holds the FSM (see holdPipeline).
const gateCmd = "gate"

// holdPipeline applies gateCmd and returns once the state machine is blocked
// in it: from then on one entry is in flight, so the batcher holds new
// commands back (for BatchMaxDelay or until full) instead of flushing at once.
// release unblocks it and returns the gate command's Apply error.
func holdPipeline(t *testing.T, n *Node, kv *kvSM) (release func() error) {
	t.Helper()
	kv.mu.Lock()
	kv.gate, kv.entered = make(chan struct{}), make(chan struct{})
	gate, entered := kv.gate, kv.entered
	kv.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		_, err := n.Apply(context.Background(), []byte(gateCmd))
		done <- err
	}()
	select {
	case <-entered:
	case err := <-done:
		t.Fatalf("gate command returned %v before blocking", err)
	case <-time.After(10 * time.Second):
		t.Fatal("gate command never reached the state machine")
	}
	return func() error {
		kv.mu.Lock()
		kv.gate = nil
		kv.mu.Unlock()
		close(gate)
		return <-done
	}
}

// kvResult is the result of one accepted command.
type kvResult struct {
	Seq uint64
	Cmd string
}

type kvState struct {
	Applied uint64         `json:"applied"`
	Seq     uint64         `json:"seq"`
	Counts  map[string]int `json:"counts"`
	Order   []string       `json:"order"`
}

type kvLine struct {
	Index uint64   `json:"i,omitempty"`
	Cmds  []string `json:"c,omitempty"`
	Snap  *kvState `json:"snap,omitempty"`
}

// newMemKV returns an in-memory kvSM.
func newMemKV() *kvSM { return &kvSM{counts: map[string]int{}} }

// openKV opens (or creates) a durable kvSM at path and registers its Close.
func openKV(t testing.TB, path string) *kvSM {
	t.Helper()
	kv := newMemKV()
	kv.path = path
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var l kvLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				break // torn last line
			}
			if l.Snap != nil {
				kv.setState(*l.Snap)
				continue
			}
			cmds := make([][]byte, len(l.Cmds))
			for i, c := range l.Cmds {
				cmds[i] = []byte(c)
			}
			kv.applyLocked(l.Index, cmds)
		}
		_ = f.Close()
	}
	kv.applyCalls, kv.replays, kv.indexes = 0, 0, nil
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	kv.f = f
	t.Cleanup(func() { _ = kv.Close() })
	return kv
}

func (kv *kvSM) Close() error {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.f == nil {
		return nil
	}
	err := kv.f.Close()
	kv.f = nil
	return err
}

func (kv *kvSM) Apply(index uint64, cmds [][]byte) []any {
	for _, c := range cmds {
		if string(c) == gateCmd {
			kv.mu.Lock()
			gate, entered := kv.gate, kv.entered
			kv.mu.Unlock()
			if gate != nil {
				close(entered)
				<-gate
			}
		}
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	res := kv.applyLocked(index, cmds)
	if kv.f != nil {
		l := kvLine{Index: index}
		for _, c := range cmds {
			l.Cmds = append(l.Cmds, string(c))
		}
		b, _ := json.Marshal(l)
		if _, err := kv.f.Write(append(b, '\n')); err != nil {
			panic(fmt.Sprintf("kv: append: %v", err))
		}
	}
	return res
}

func (kv *kvSM) applyLocked(index uint64, cmds [][]byte) []any {
	kv.applyCalls++
	kv.indexes = append(kv.indexes, index)
	if index <= kv.applied {
		kv.replays++
	}
	res := make([]any, len(cmds))
	for i, c := range cmds {
		cmd := string(c)
		if strings.HasPrefix(cmd, "fail:") {
			res[i] = fmt.Errorf("kv: refused %q", cmd)
			continue
		}
		kv.seq++
		kv.counts[cmd]++
		kv.order = append(kv.order, cmd)
		res[i] = kvResult{Seq: kv.seq, Cmd: cmd}
	}
	kv.applied = index
	return res
}

func (kv *kvSM) AppliedIndex() (uint64, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.applied, nil
}

func (kv *kvSM) Snapshot(w io.Writer) error {
	kv.mu.Lock()
	st := kv.stateLocked()
	kv.mu.Unlock()
	return json.NewEncoder(w).Encode(st)
}

func (kv *kvSM) Restore(r io.Reader) error {
	var st kvState
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return err
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.setState(st)
	kv.restores++
	if kv.f != nil {
		b, _ := json.Marshal(kvLine{Snap: &st})
		if err := kv.f.Truncate(0); err != nil {
			return err
		}
		if _, err := kv.f.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}

func (kv *kvSM) stateLocked() kvState {
	st := kvState{Applied: kv.applied, Seq: kv.seq, Counts: make(map[string]int, len(kv.counts)), Order: append([]string(nil), kv.order...)}
	for k, v := range kv.counts {
		st.Counts[k] = v
	}
	return st
}

func (kv *kvSM) setState(st kvState) {
	kv.applied, kv.seq, kv.order = st.Applied, st.Seq, st.Order
	kv.counts = st.Counts
	if kv.counts == nil {
		kv.counts = map[string]int{}
	}
}

// state returns a copy of the state and the observation counters.
func (kv *kvSM) state() (st kvState, applyCalls, replays int) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.stateLocked(), kv.applyCalls, kv.replays
}

// checkExactlyOnce fails unless every one of want was applied exactly once and
// nothing else was.
func (kv *kvSM) checkExactlyOnce(t testing.TB, want []string) {
	t.Helper()
	st, _, replays := kv.state()
	if replays != 0 {
		t.Errorf("state machine saw %d replayed entries", replays)
	}
	if len(st.Counts) != len(want) {
		t.Errorf("state machine holds %d distinct commands, want %d", len(st.Counts), len(want))
	}
	for _, c := range want {
		if n := st.Counts[c]; n != 1 {
			t.Errorf("command %q applied %d times, want 1", c, n)
		}
	}
	if st.Seq != uint64(len(want)) {
		t.Errorf("seq = %d, want %d", st.Seq, len(want))
	}
}

func (kv *kvSM) restoreCount() int {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.restores
}

var _ StateMachine = (*kvSM)(nil)

// errorsIsAny reports whether err matches one of targets.
func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// EncodeResult implements ResultCodec (forwarded writes).
func (kv *kvSM) EncodeResult(res any) ([]byte, error) {
	if err, ok := res.(error); ok {
		return append([]byte{'!'}, err.Error()...), nil
	}
	return json.Marshal(res)
}

// DecodeResult implements ResultCodec.
func (kv *kvSM) DecodeResult(b []byte) (any, error) {
	if len(b) > 0 && b[0] == '!' {
		return fmt.Errorf("%w: %s", errKVRefused, b[1:]), nil
	}
	var r kvResult
	err := json.Unmarshal(b, &r)
	return r, err
}

// errKVRefused is the error of a refused command decoded from a forward.
var errKVRefused = errors.New("kv: refused")
