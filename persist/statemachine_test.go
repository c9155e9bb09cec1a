package persist

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestStateMachineAdapter(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	sm := s.StateMachine()
	good, _ := EncodeOps([]Op{EnqueueOp("c", msg("t", "1")), EnqueueOp("c", msg("t", "2"))})
	bad := []byte{1, 1, 99}
	res := sm.Apply(1, [][]byte{good, bad})
	if len(res) != 2 {
		t.Fatalf("%d results", len(res))
	}
	rs, ok := res[0].([]Result)
	if !ok || len(rs) != 2 || rs[1].Seq != 2 {
		t.Fatalf("good command: %#v", res[0])
	}
	if err, ok := res[1].(error); !ok || !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("bad command: %#v", res[1])
	}
	if idx, err := sm.AppliedIndex(); err != nil || idx != 1 {
		t.Fatalf("applied %d %v", idx, err)
	}
	// A structurally fine command holding an invalid op is refused at decode.
	raw := []byte{1, 1, byte(OpDeleteRaw), 3, 's', '/', 'x'}
	if _, err := DecodeOps(raw); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("decode of an invalid op: %v", err)
	}
	res = sm.Apply(2, [][]byte{raw})
	if err, ok := res[0].(error); !ok || !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("invalid op: %#v", res[0])
	}
	// Replays are reported, not applied.
	res = sm.Apply(1, [][]byte{good})
	if err, ok := res[0].(error); !ok || !errors.Is(err, ErrAlreadyApplied) {
		t.Fatalf("replay: %#v", res[0])
	}
	if q, _ := s.Queue("c", 0, 0, time.Time{}); len(q) != 2 {
		t.Fatalf("queue %d", len(q))
	}
	var buf bytes.Buffer
	if err := sm.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	other := mustOpen(t, memConfig())
	if err := other.StateMachine().Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if idx, _ := other.StateMachine().AppliedIndex(); idx != 2 {
		t.Fatalf("restored applied index %d", idx)
	}
	// A store error panics (the raft layer restarts and replays).
	s.Close()
	defer func() {
		if recover() == nil {
			t.Fatal("apply on a closed store did not panic")
		}
	}()
	sm.Apply(3, [][]byte{good})
}
