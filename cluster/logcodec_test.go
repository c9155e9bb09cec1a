package cluster

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestLogRecordRoundTrip(t *testing.T) {
	tests := []raft.Log{
		{Index: 1, Term: 1, Type: raft.LogCommand, Data: []byte("data")},
		{Index: 2, Term: 7, Type: raft.LogConfiguration, Data: []byte{1, 2, 3}, Extensions: []byte("ext")},
		{Index: 3, Term: 1 << 40, Type: raft.LogNoop, AppendedAt: time.Unix(1700000000, 123456789)},
		{Index: 1 << 62, Term: 2, Type: raft.LogBarrier, Data: bytes.Repeat([]byte("z"), 5000)},
	}
	for _, want := range tests {
		b := appendLogRecord(nil, &want)
		if len(b) > logRecordSize(&want) {
			t.Fatalf("index %d: %d bytes exceed logRecordSize %d", want.Index, len(b), logRecordSize(&want))
		}
		var got raft.Log
		if err := decodeLogRecord(want.Index, b, &got); err != nil {
			t.Fatalf("index %d: %v", want.Index, err)
		}
		if got.Index != want.Index || got.Term != want.Term || got.Type != want.Type ||
			!bytes.Equal(got.Data, want.Data) || !bytes.Equal(got.Extensions, want.Extensions) ||
			!got.AppendedAt.Equal(want.AppendedAt) {
			t.Fatalf("round trip: got %+v, want %+v", got, want)
		}
		// Decoded slices must not alias the input (Badger reuses it).
		if len(got.Data) > 0 {
			for i := range b {
				b[i] = 0
			}
			if !bytes.Equal(got.Data, want.Data) {
				t.Fatal("decoded Data aliases the record buffer")
			}
		}
	}
}

func FuzzDecodeLogRecord(f *testing.F) {
	f.Add(appendLogRecord(nil, &raft.Log{Term: 1, Type: raft.LogCommand, Data: []byte("x")}))
	f.Add(appendLogRecord(nil, &raft.Log{Term: 9, Type: raft.LogConfiguration, Extensions: []byte("e"), AppendedAt: time.Unix(5, 6)}))
	f.Add([]byte{})
	f.Add([]byte{logRecordVersion})
	f.Add([]byte{logRecordVersion, 1, 0, 0, 5, 'a'})
	f.Add([]byte{0x09, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var l raft.Log
		err := decodeLogRecord(42, b, &l)
		if err != nil {
			if !errors.Is(err, ErrLogCorrupt) {
				t.Fatalf("error %v does not wrap ErrLogCorrupt", err)
			}
			return
		}
		if l.Index != 42 {
			t.Fatalf("index %d", l.Index)
		}
		var again raft.Log
		if err := decodeLogRecord(42, appendLogRecord(nil, &l), &again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if again.Term != l.Term || again.Type != l.Type || !bytes.Equal(again.Data, l.Data) ||
			!bytes.Equal(again.Extensions, l.Extensions) || !again.AppendedAt.Equal(l.AppendedAt) {
			t.Fatalf("round trip changed the log: %+v vs %+v", again, l)
		}
	})
}
