package persist

import (
	"fmt"
	"testing"
	"time"
)

// TestDequeueHintKeepsResults checks that the dequeue seek hint never changes
// what a DequeueThrough deletes: counts, a lower (no-op) dequeue, a session
// deleted and re-created, two dequeues in one entry, and a reopened store.
func TestDequeueHintKeepsResults(t *testing.T) {
	cfg := testConfig(t)
	s := mustOpen(t, cfg)
	var idx uint64
	apply := func(ops ...Op) []Result {
		idx++
		return mustApply(t, s, idx, ops)[0]
	}
	enq := func(n int) {
		ops := make([]Op, n)
		for i := range ops {
			ops[i] = EnqueueOp("c", msg("t", "x"))
		}
		apply(ops...)
	}
	count := func(r []Result, i, want int) {
		t.Helper()
		if r[i].Count != want {
			t.Fatalf("entry %d op %d: deleted %d, want %d", idx, i, r[i].Count, want)
		}
	}
	queued := func(want ...uint64) {
		t.Helper()
		q, err := s.Queue("c", 0, 0, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		got := make([]uint64, len(q))
		for i := range q {
			got[i] = q[i].Seq
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("queue %v, want %v", got, want)
		}
	}
	enq(10) // 1..10
	count(apply(DequeueThroughOp("c", 5)), 0, 5)
	count(apply(DequeueThroughOp("c", 3)), 0, 0) // below the hint
	count(apply(DequeueThroughOp("c", 7), DequeueThroughOp("c", 9)), 1, 2)
	queued(10)
	apply(DeleteSessionOp("c"))
	enq(3) // 11..13: the counter survives the delete
	queued(11, 12, 13)
	count(apply(DequeueThroughOp("c", 12)), 0, 2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, cfg) // no hints after a reopen
	count(apply(DequeueThroughOp("c", 13)), 0, 1)
	queued()
}

// BenchmarkDequeueThrough measures one enqueue + dequeue entry pair on a queue
// that has seen b.N messages: with the seek hint its cost does not grow with N.
func BenchmarkDequeueThrough(b *testing.B) {
	s := mustOpen(b, testConfig(b))
	var idx uint64
	b.ReportAllocs()
	for i := range b.N {
		idx++
		mustApply(b, s, idx, []Op{EnqueueOp("c", msg("t", "x"))})
		idx++
		mustApply(b, s, idx, []Op{DequeueThroughOp("c", uint64(i+1))})
	}
}
