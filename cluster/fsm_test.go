package cluster

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"
)

// shortSM returns one result too few: a buggy state machine.
type shortSM struct{ *kvSM }

func (s *shortSM) Apply(index uint64, cmds [][]byte) []any {
	return s.kvSM.Apply(index, cmds)[1:]
}

func TestFSMAdapter(t *testing.T) {
	entry := func(cmds ...string) []byte {
		var bs [][]byte
		for _, c := range cmds {
			bs = append(bs, []byte(c))
		}
		return appendEntry(nil, bs)
	}
	kv := newMemKV()
	f := newFSM(kv, 0, zerolog.Nop())

	res := f.Apply(&raft.Log{Index: 3, Type: raft.LogCommand, Data: entry("a", "fail:b")}).(*entryResult)
	if res.err != nil || len(res.results) != 2 {
		t.Fatalf("result %+v", res)
	}
	if r, ok := res.results[0].(kvResult); !ok || r.Cmd != "a" {
		t.Fatalf("first result %+v", res.results[0])
	}
	if _, ok := res.results[1].(error); !ok {
		t.Fatalf("second result %+v, want the state machine's error", res.results[1])
	}
	// Replay of an applied index is skipped without calling the state machine.
	if got := f.Apply(&raft.Log{Index: 3, Data: entry("again")}); got != nil {
		t.Fatalf("replayed entry returned %v", got)
	}
	// A malformed entry is skipped with ErrBadEntry.
	res = f.Apply(&raft.Log{Index: 4, Data: []byte{0x09}}).(*entryResult)
	if !errors.Is(res.err, ErrBadEntry) {
		t.Fatalf("bad entry: %v", res.err)
	}
	if st, calls, _ := kv.state(); calls != 1 || st.Applied != 3 {
		t.Fatalf("state machine saw %d entries, applied %d", calls, st.Applied)
	}
	if f.applied.Load() != 3 {
		t.Fatalf("adapter applied index %d", f.applied.Load())
	}

	// Snapshot round trip through the framing.
	var buf bytes.Buffer
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Persist(&memSink{Buffer: &buf}); err != nil {
		t.Fatal(err)
	}
	kv2 := newMemKV()
	f2 := newFSM(kv2, 0, zerolog.Nop())
	if err := f2.Restore(io.NopCloser(bytes.NewReader(buf.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if f2.applied.Load() != 3 || kv2.restoreCount() != 1 {
		t.Fatalf("after restore: applied %d, restores %d", f2.applied.Load(), kv2.restoreCount())
	}
	if got := f2.Apply(&raft.Log{Index: 2, Data: entry("old")}); got != nil {
		t.Fatalf("entry below the restored index applied: %v", got)
	}

	// A stream without the header is refused before the state machine sees it.
	bad := append([]byte("NOTASNAP\x01"), buf.Bytes()[len(snapshotMagic):]...)
	if err := f2.Restore(io.NopCloser(bytes.NewReader(bad))); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("Restore(bad header) = %v", err)
	}
	if err := f2.Restore(io.NopCloser(bytes.NewReader(nil))); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("Restore(empty) = %v", err)
	}

	// A state machine returning the wrong number of results.
	f3 := newFSM(&shortSM{kvSM: newMemKV()}, 0, zerolog.Nop())
	res = f3.Apply(&raft.Log{Index: 1, Data: entry("x", "y")}).(*entryResult)
	if !errors.Is(res.err, ErrResultCount) {
		t.Fatalf("short results: %v", res.err)
	}
}

// memSink is a raft.SnapshotSink over a buffer.
type memSink struct {
	*bytes.Buffer
	cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Close() error  { return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
