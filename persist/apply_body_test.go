package persist

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// countKeys counts the live keys under prefix.
func countKeys(t testing.TB, s *Store, prefix string) int {
	t.Helper()
	n := 0
	err := s.view(func(txn *badger.Txn) error {
		return scan(txn, []byte(prefix), nil, false, func(*badger.Item) (bool, error) { n++; return true, nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// bodyRefs reads the reference count of body id (0 when absent).
func bodyRefs(t testing.TB, s *Store, id uint64) uint64 {
	t.Helper()
	var n uint64
	err := s.view(func(txn *badger.Txn) error {
		v, ok, err := getCopy(txn, bodyRefsKey(id))
		if ok && len(v) == 8 {
			n = beUint64(v)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// fanOut returns a PutBody and one reference per client (body 0).
func fanOut(m Message, clients ...string) []Op {
	ops := []Op{PutBodyOp(m)}
	for i, c := range clients {
		ops = append(ops, EnqueueRefOp(c, QueueRef{QoS: byte(i % 3), Expiry: m.Expiry, SubscriptionIDs: []int{i + 1}}))
	}
	return ops
}

func TestSharedBodyLifecycle(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	m := msg("fan/out", strings.Repeat("x", 5000))
	m.Properties.ContentType = "text/plain"
	mustApply(t, s, 1, []Op{EnqueueOp("c1", msg("first", "plain"))})
	res := mustApply(t, s, 2, fanOut(m, "c1", "c2", "c3"))
	id := res[0][0].Seq
	if id != 1 || res[0][1].Seq != 2 || res[0][2].Seq != 1 || res[0][3].Seq != 1 {
		t.Fatalf("results %+v", res[0])
	}
	if n := countKeys(t, s, pfxBody); n != 1 {
		t.Fatalf("%d bodies, want 1", n)
	}
	if n := bodyRefs(t, s, id); n != 3 {
		t.Fatalf("refs %d, want 3", n)
	}
	q, err := s.Queue("c1", 0, 0, time.Now())
	if err != nil || len(q) != 2 {
		t.Fatalf("queue c1: %d %v", len(q), err)
	}
	want := m
	want.QoS, want.Properties.SubscriptionIDs = 0, []int{1}
	if q[0].Message.Topic != "first" || !reflect.DeepEqual(q[1].Message, want) {
		t.Fatalf("queue c1 resolved to %+v, want %+v", q[1].Message, want)
	}
	q, _ = s.Queue("c3", 0, 0, time.Time{})
	if len(q) != 1 || q[0].Message.QoS != 2 || !reflect.DeepEqual(q[0].Message.Properties.SubscriptionIDs, []int{3}) {
		t.Fatalf("queue c3 %+v", q)
	}
	if c, b, err := s.QueueLen("c2"); err != nil || c != 1 || b < 5000 {
		t.Fatalf("QueueLen c2 = %d, %d, %v: want 1 and the body's size", c, b, err)
	}

	mustApply(t, s, 3, []Op{DequeueThroughOp("c1", 2)})
	if n := bodyRefs(t, s, id); n != 2 {
		t.Fatalf("after dequeue: refs %d, want 2", n)
	}
	mustApply(t, s, 4, []Op{DeleteSessionOp("c2")})
	if n := bodyRefs(t, s, id); n != 1 {
		t.Fatalf("after delete session: refs %d, want 1", n)
	}
	mustApply(t, s, 5, []Op{DequeueThroughOp("c3", 1)})
	if n, k := countKeys(t, s, pfxBody), countKeys(t, s, pfxBodyRefs); n != 0 || k != 0 {
		t.Fatalf("after the last release: %d bodies, %d counts, want none", n, k)
	}
	// A second fan-out gets the next id.
	res = mustApply(t, s, 6, fanOut(m, "c1"))
	if res[0][0].Seq != 2 || res[0][1].Seq != 3 {
		t.Fatalf("second fan-out %+v", res[0])
	}
}

func TestSharedBodyBatchRule(t *testing.T) {
	ref := EnqueueRefOp("c", QueueRef{QoS: 1})
	if _, err := EncodeOps([]Op{ref, PutBodyOp(msg("t", "p"))}); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("encode of a body-0 ref before its body: %v", err)
	}
	s := mustOpen(t, memConfig())
	res, err := s.Apply(1, [][]Op{{ref}, fanOut(msg("t", "p"), "c")})
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, res[0][0].Err, ErrInvalidOp)
	if res[1][1].Err != nil || res[1][1].Seq != 1 {
		t.Fatalf("valid batch: %+v", res[1])
	}
	// An explicit body id may come in a later command.
	mustApply(t, s, 2, []Op{EnqueueRefOp("d", QueueRef{Body: 1, QoS: 1})})
	if n := bodyRefs(t, s, 1); n != 2 {
		t.Fatalf("refs %d, want 2", n)
	}
	for _, bad := range []QueueRef{{QoS: 3}, {Expiry: -1}, {SubscriptionIDs: []int{0}}, {SubscriptionIDs: make([]int, 600)}} {
		if _, err := EncodeOps([]Op{EnqueueRefOp("c", bad)}); !errors.Is(err, ErrInvalidOp) {
			t.Fatalf("ref %+v: %v", bad, err)
		}
	}
}

// TestSharedBodySnapshot: bodies, counts and references travel in a
// snapshot, and the restored store releases them like the original.
func TestSharedBodySnapshot(t *testing.T) {
	a := mustOpen(t, testConfig(t))
	m := msg("fan/out", "payload")
	m.Expiry = time.Now().Add(time.Hour).UnixMilli()
	mustApply(t, a, 1, fanOut(m, "c1", "c2"))
	var buf bytes.Buffer
	if err := a.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	b := mustOpen(t, testConfig(t))
	if err := b.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dump(t, a), dump(t, b)) {
		t.Fatal("restored store differs")
	}
	q, err := b.Queue("c2", 0, 0, time.Now())
	if err != nil || len(q) != 1 || string(q[0].Message.Payload) != "payload" {
		t.Fatalf("restored queue %+v %v", q, err)
	}
	for _, s := range []*Store{a, b} {
		mustApply(t, s, 2, []Op{DequeueThroughOp("c1", 1), DeleteSessionOp("c2")})
		if n := countKeys(t, s, pfxBody) + countKeys(t, s, pfxBodyRefs); n != 0 {
			t.Fatalf("%d body keys left", n)
		}
	}
}

// TestSharedBodySplitResume: a fan-out and its releases split over many
// transactions, interrupted after a split and resumed, end as an unsplit
// store does.
func TestSharedBodySplitResume(t *testing.T) {
	var clients []string
	for i := range 60 {
		clients = append(clients, fmt.Sprintf("c%02d", i))
	}
	m := msg("fan/out", strings.Repeat("p", 300))
	entries := [][][]Op{
		{fanOut(m, clients...), fanOut(m, clients[:30]...)},
		{append([]Op{DeleteSessionOp("c00"), DequeueThroughOp("c01", 1)}, func() []Op {
			var ops []Op
			for _, c := range clients[2:40] {
				ops = append(ops, DequeueThroughOp(c, 2))
			}
			return ops
		}()...)},
	}
	ref := mustOpen(t, memConfig())
	var want [][][]Result
	for i, e := range entries {
		want = append(want, mustApply(t, ref, uint64(i+1), e...))
	}
	s := mustOpen(t, testConfig(t))
	s.testTxnLimit = 12
	for i, e := range entries {
		failed := false
		s.testAfterSplit = func(n int) error {
			if n == 3 && !failed {
				failed = true
				return errors.New("injected failure")
			}
			return nil
		}
		if _, err := s.Apply(uint64(i+1), e); err == nil || !strings.Contains(err.Error(), "injected") {
			t.Fatalf("entry %d: %v", i+1, err)
		}
		got, err := s.Apply(uint64(i+1), e)
		if err != nil {
			t.Fatal(err)
		}
		for bi := range got {
			for oi, r := range got[bi] {
				// Count is informational: an op re-run after a split in its
				// middle counts only what was left.
				if w := want[i][bi][oi]; !r.Resumed && (r.Seq != w.Seq || !reflect.DeepEqual(r.Err, w.Err)) {
					t.Fatalf("entry %d batch %d op %d: %+v, want %+v", i+1, bi, oi, r, want[i][bi][oi])
				}
			}
		}
	}
	if !bytes.Equal(dump(t, s), dump(t, ref)) {
		t.Fatal("resumed store differs from the reference")
	}
	// Body 1: c40..c59 still hold it. Body 2: only c01 (dequeued through 1).
	if n := bodyRefs(t, s, 1); n != 20 {
		t.Fatalf("body 1 refs %d, want 20", n)
	}
	if n := bodyRefs(t, s, 2); n != 1 {
		t.Fatalf("body 2 refs %d, want 1", n)
	}
	mustApply(t, s, 3, []Op{DequeueThroughOp("c01", 2)})
	if n := countKeys(t, s, pfxBody); n != 1 || bodyRefs(t, s, 2) != 0 {
		t.Fatalf("bodies %d, body 2 refs %d: want body 2 released", n, bodyRefs(t, s, 2))
	}
}

// TestSharedBodyExpiry: a body and its references expire together (one
// Badger TTL): the queue skips them and nothing of the body stays visible.
func TestSharedBodyExpiry(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	m := msg("fan/out", "soon gone")
	m.Expiry = time.Now().Add(1200 * time.Millisecond).UnixMilli()
	mustApply(t, s, 1, fanOut(m, "c1", "c2"))
	if q, _ := s.Queue("c1", 0, 0, time.Now()); len(q) != 1 {
		t.Fatalf("queue before expiry: %d", len(q))
	}
	waitFor(t, 5*time.Second, "body expiry", func() bool {
		return countKeys(t, s, pfxBody)+countKeys(t, s, pfxBodyRefs)+countKeys(t, s, pfxQueue) == 0
	})
	if q, err := s.Queue("c2", 0, 0, time.Time{}); err != nil || len(q) != 0 {
		t.Fatalf("queue after expiry: %d %v", len(q), err)
	}
	// Releasing expired references is a no-op, and a new fan-out works.
	mustApply(t, s, 2, []Op{DequeueThroughOp("c1", 1), DeleteSessionOp("c2")})
	m.Expiry = 0
	res := mustApply(t, s, 3, fanOut(m, "c1", "c2"))
	if res[0][0].Seq != 2 || bodyRefs(t, s, 2) != 2 {
		t.Fatalf("fan-out after expiry: %+v refs %d", res[0], bodyRefs(t, s, 2))
	}
}

func TestQueueRefCodec(t *testing.T) {
	for _, r := range []QueueRef{{}, {Body: 1 << 40, QoS: 2, Retain: true, Expiry: 1_700_000_000_000, SubscriptionIDs: []int{1, maxVarByteInt}}} {
		b, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got QueueRef
		if err := got.UnmarshalBinary(b); err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip %+v: %+v %v", r, got, err)
		}
		var m Message
		wantErr(t, m.UnmarshalBinary(b), ErrCorruptRecord) // a reference is never read as a message
	}
	// The largest reference hooks/storage builds (500 identifiers) fits.
	r := QueueRef{Body: ^uint64(0), QoS: 2, Expiry: 1<<63 - 1, SubscriptionIDs: make([]int, 500)}
	for i := range r.SubscriptionIDs {
		r.SubscriptionIDs[i] = maxVarByteInt
	}
	if _, err := r.MarshalBinary(); err != nil {
		t.Fatalf("500 identifiers: %v", err)
	}
	r.SubscriptionIDs = append(r.SubscriptionIDs, make([]int, 10)...)
	for i := range r.SubscriptionIDs {
		r.SubscriptionIDs[i] = maxVarByteInt
	}
	if _, err := r.MarshalBinary(); err == nil {
		t.Fatal("510 identifiers of 4 bytes fit in a reference")
	}
}

// TestStagedFanout: references staged over several entries are invisible
// until OpCommitBody enqueues them all at once; OpDropStaged discards them.
func TestStagedFanout(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	m := msg("fan/big", "staged payload")
	first := []Op{PutBodyOp(m), StageRefOp("c1", QueueRef{QoS: 1}), StageRefOp("c2", QueueRef{QoS: 2})}
	res := mustApply(t, s, 1, first)
	id := res[0][0].Seq
	if res[0][1].Seq != id || res[0][2].Seq != id {
		t.Fatalf("stage results %+v", res[0])
	}
	mustApply(t, s, 2, []Op{StageRefOp("c3", QueueRef{Body: id, QoS: 1, SubscriptionIDs: []int{7}})})
	for _, c := range []string{"c1", "c2", "c3"} {
		if q, _ := s.Queue(c, 0, 0, time.Time{}); len(q) != 0 {
			t.Fatalf("staged reference visible in %s before the commit", c)
		}
	}
	res = mustApply(t, s, 3, []Op{EnqueueOp("c1", msg("other", "x")), CommitBodyOp(id)})
	if res[0][1].Count != 3 {
		t.Fatalf("commit %+v", res[0][1])
	}
	q, _ := s.Queue("c1", 0, 0, time.Time{})
	if len(q) != 2 || q[1].Message.Topic != "fan/big" || q[1].Seq != 2 {
		t.Fatalf("c1 after commit: %+v", q)
	}
	if q, _ := s.Queue("c3", 0, 0, time.Time{}); len(q) != 1 || q[0].Message.Properties.SubscriptionIDs[0] != 7 {
		t.Fatalf("c3 after commit: %+v", q)
	}
	if bodyRefs(t, s, id) != 3 || countKeys(t, s, pfxStaged) != 0 {
		t.Fatalf("refs %d, staged %d", bodyRefs(t, s, id), countKeys(t, s, pfxStaged))
	}
	// A second commit finds nothing; a dropped staging is never enqueued.
	res = mustApply(t, s, 4, []Op{CommitBodyOp(id), PutBodyOp(m), StageRefOp("c1", QueueRef{QoS: 1})})
	if res[0][0].Count != 0 {
		t.Fatalf("second commit %+v", res[0][0])
	}
	res = mustApply(t, s, 5, []Op{DropStagedOp(id + 1), CommitBodyOp(id + 1)})
	if res[0][0].Count != 1 || res[0][1].Count != 0 {
		t.Fatalf("drop/commit %+v", res[0])
	}
	if q, _ := s.Queue("c1", 0, 0, time.Time{}); len(q) != 2 {
		t.Fatalf("c1 got a dropped staging: %d entries", len(q))
	}
	// An abandoned staging is found once its expiry passed.
	now := time.Now()
	mustApply(t, s, 6, []Op{PutBodyOp(m), StageRefOp("c1", QueueRef{QoS: 1, Expiry: now.Add(-time.Second).UnixMilli()}),
		StageRefOp("c2", QueueRef{QoS: 1, Expiry: now.Add(-time.Second).UnixMilli()}),
		PutBodyOp(m), StageRefOp("c1", QueueRef{QoS: 1, Expiry: now.Add(time.Hour).UnixMilli()})})
	if ids, err := s.StaleStaged(now, 10); err != nil || !reflect.DeepEqual(ids, []uint64{id + 2}) {
		t.Fatalf("stale stagings %v %v, want [%d]", ids, err, id+2)
	}
	if _, err := EncodeOps([]Op{StageRefOp("c", QueueRef{})}); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("stage body 0 without a body: %v", err)
	}
}

// TestStagedCommitSplitResume: a commit of 300 staged references split over
// many transactions and interrupted ends as an unsplit store does.
func TestStagedCommitSplitResume(t *testing.T) {
	m := msg("fan/big", strings.Repeat("p", 100))
	stage := []Op{PutBodyOp(m)}
	for i := range 300 {
		stage = append(stage, StageRefOp(fmt.Sprintf("c%03d", i), QueueRef{QoS: 1}))
	}
	commit := []Op{CommitBodyOp(1)}
	ref := mustOpen(t, memConfig())
	mustApply(t, ref, 1, stage)
	mustApply(t, ref, 2, commit)
	s := mustOpen(t, testConfig(t))
	mustApply(t, s, 1, stage)
	s.testTxnLimit = 20
	failed := false
	s.testAfterSplit = func(n int) error {
		if n == 5 && !failed {
			failed = true
			return errors.New("injected failure")
		}
		return nil
	}
	if _, err := s.Apply(2, [][]Op{commit}); err == nil {
		t.Fatal("no injected failure")
	}
	if _, err := s.Apply(2, [][]Op{commit}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dump(t, s), dump(t, ref)) {
		t.Fatal("resumed store differs from the reference")
	}
	if bodyRefs(t, s, 1) != 300 {
		t.Fatalf("refs %d", bodyRefs(t, s, 1))
	}
}
