package persist

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestRefSeqs: the seqs a commit_body assigned are found from cursors read
// before the staging; a full message, another body's reference and a
// dequeued reference are not taken for it.
func TestRefSeqs(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	mustApply(t, s, 1, []Op{EnqueueOp("c1", msg("a", "x")), EnqueueOp("c2", msg("b", strings.Repeat("y", 3000)))})
	other := mustApply(t, s, 2, fanOut(msg("other", "o"), "c1"))[0][0].Seq
	after := []uint64{}
	for _, c := range []string{"c1", "c2", "c3"} {
		n, err := s.QueueSeq(c)
		if err != nil {
			t.Fatal(err)
		}
		after = append(after, n)
	}
	res := mustApply(t, s, 3, []Op{PutBodyOp(msg("fan", "z")), StageRefOp("c1", QueueRef{QoS: 1}), StageRefOp("c2", QueueRef{QoS: 1}), StageRefOp("c3", QueueRef{QoS: 1})})
	id := res[0][0].Seq
	mustApply(t, s, 4, []Op{EnqueueOp("c2", msg("between", "b")), EnqueueOp("c3", msg("between", strings.Repeat("w", 3000)))})
	mustApply(t, s, 5, []Op{CommitBodyOp(id), EnqueueOp("c1", msg("later", "l"))})
	mustApply(t, s, 6, []Op{DequeueThroughOp("c3", 2)})
	got, err := s.RefSeqs(id, []string{"c1", "c2", "c3", "none"}, append(after, 0))
	if err != nil {
		t.Fatal(err)
	}
	// c1: 1 plain, 2 other body, 3 ours; c2: 1 full copy, 2 between, 3 ours;
	// c3: 1 between, 2 ours, dequeued.
	if want := []uint64{3, 3, 0, 0}; !reflect.DeepEqual(got, want) {
		t.Fatalf("RefSeqs = %v, want %v (other body %d)", got, want, other)
	}
	if _, err := s.RefSeqs(id, []string{"c1"}, nil); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("mismatched cursors: %v", err)
	}
}
