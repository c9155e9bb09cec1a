package persist

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestApplyOpsAndReads(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	s1 := sess("c1")
	s1.Will = &Will{Topic: "im/presence/c1", Payload: []byte("offline"), QoS: 1, Retain: true}
	sub := Subscription{Filter: "a/+", QoS: 2, NoLocal: true, Identifier: 5}
	in := Inflight{Dir: Outbound, PacketID: 9, Released: true, Message: msg("a/b", "x")}
	res := mustApply(t, s, 1,
		[]Op{PutSessionOp(s1), PutSubscriptionOp("c1", sub)},
		[]Op{EnqueueOp("c1", msg("a/b", "1")), EnqueueOp("c1", msg("a/b", "2")), PutInflightOp("c1", in)},
		[]Op{PutRetainedOp(msg("r/1", "keep")), PutRawOp([]byte("x/1"), []byte("raw"), 0), IncrRawOp([]byte("c/n"), 5)},
	)
	if res[1][0].Seq != 1 || res[1][1].Seq != 2 || res[2][2].Seq != 5 {
		t.Fatalf("results %+v", res)
	}
	if res[0][0].Found {
		t.Fatal("new session reported as found")
	}
	got, err := s.Session("c1")
	if err != nil || !reflect.DeepEqual(got, s1) {
		t.Fatalf("session %+v %v", got, err)
	}
	subs, err := s.Subscriptions("c1")
	if err != nil || len(subs) != 1 || subs[0] != sub {
		t.Fatalf("subscriptions %+v %v", subs, err)
	}
	q, err := s.Queue("c1", 0, 0, time.Time{})
	if err != nil || len(q) != 2 || q[0].Seq != 1 || string(q[1].Message.Payload) != "2" {
		t.Fatalf("queue %+v %v", q, err)
	}
	if n, b, err := s.QueueLen("c1"); err != nil || n != 2 || b <= 0 {
		t.Fatalf("queue len %d %d %v", n, b, err)
	}
	fl, err := s.Inflight("c1")
	if err != nil || len(fl) != 1 || !reflect.DeepEqual(fl[0], in) {
		t.Fatalf("inflight %+v %v", fl, err)
	}
	if m, err := s.Retained("r/1", time.Now()); err != nil || string(m.Payload) != "keep" {
		t.Fatalf("retained %+v %v", m, err)
	}
	if v, err := s.GetRaw([]byte("x/1")); err != nil || string(v) != "raw" {
		t.Fatalf("raw %q %v", v, err)
	}
	_, err = s.GetRaw([]byte("s/c1"))
	wantErr(t, err, ErrInvalidOp)
	_, err = s.GetRaw([]byte("x/none"))
	wantErr(t, err, ErrNotFound)
	_, err = s.Session("nobody")
	wantErr(t, err, ErrNotFound)

	// Second entry: replace, delete, dequeue, empty retained payload deletes.
	res = mustApply(t, s, 2, []Op{
		PutSessionOp(s1),
		DequeueThroughOp("c1", 1),
		DeleteInflightOp("c1", Outbound, 9),
		DeleteSubscriptionOp("c1", "a/+"),
		PutRetainedOp(Message{Topic: "r/1"}),
		DeleteRawOp([]byte("x/1")),
		DeleteRetainedOp("r/none"),
	})
	want := []Result{{Found: true}, {Count: 1}, {Found: true}, {Found: true}, {Found: true}, {Found: true}, {}}
	if !reflect.DeepEqual(res[0], want) {
		t.Fatalf("results\n got %+v\nwant %+v", res[0], want)
	}
	if q, _ := s.Queue("c1", 0, 0, time.Time{}); len(q) != 1 || q[0].Seq != 2 {
		t.Fatalf("queue after dequeue %+v", q)
	}
	if _, err := s.Retained("r/1", time.Time{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("retained after empty payload: %v", err)
	}
	if s.AppliedIndex() != 2 {
		t.Fatalf("applied %d", s.AppliedIndex())
	}
}

func TestApplyIdempotent(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	batch := []Op{EnqueueOp("c", msg("t", "1"))}
	mustApply(t, s, 5, batch)
	before := dump(t, s)
	for _, idx := range []uint64{0, 1, 5} {
		res, err := s.Apply(idx, [][]Op{batch})
		wantErr(t, err, ErrAlreadyApplied)
		if res != nil {
			t.Fatalf("results for a skipped entry: %+v", res)
		}
	}
	if !bytes.Equal(before, dump(t, s)) {
		t.Fatal("skipped entry changed the store")
	}
	if q, _ := s.Queue("c", 0, 0, time.Time{}); len(q) != 1 {
		t.Fatalf("queue %d entries", len(q))
	}
	// Empty entries still advance the index.
	mustApply(t, s, 6)
	if s.AppliedIndex() != 6 {
		t.Fatal("empty entry did not advance the index")
	}
}

// TestApplyDeterministic feeds two stores (one on disk, one in memory, with
// different transaction limits so that one splits entries and the other does
// not) the same random entries: they end with identical content and results.
func TestApplyDeterministic(t *testing.T) {
	a := mustOpen(t, testConfig(t))
	b := mustOpen(t, memConfig())
	c := mustOpen(t, memConfig()) // its counter cache is dropped after every entry
	a.testTxnLimit = 16
	r := rand.New(rand.NewPCG(21, 22))
	clients := []string{"a", "ab", "a/b", "a\x00b", "c"}
	for idx := uint64(1); idx <= 200; idx++ {
		var batches [][]Op
		for range 1 + r.IntN(4) {
			batch := randGuards(r) // passing and failing guards (apply_guard_test.go)
			for range 1 + r.IntN(6) {
				op := randOp(r)
				if op.Client != "" {
					op.Client = clients[r.IntN(len(clients))]
				}
				if op.Kind == OpPutSession {
					op.Session.ClientID = clients[r.IntN(len(clients))]
				}
				if op.Kind == OpDequeueThrough {
					op.Seq = uint64(r.IntN(20))
				}
				if op.Kind == OpPutRaw || op.Kind == OpIncrRaw || op.Kind == OpMaxRaw {
					// Now and then a counter that appends read (countercache.go).
					keys := []string{"x/0", "x/1", "x/2", "x/3", "x/4", "c/0", "v/1"}
					op.Key = []byte(keys[r.IntN(len(keys))])
					op.ExpiresAt = 0
				}
				if op.Kind == OpAppendRaw {
					// A few logs and dedup keys, so appends collide and dedup hits.
					conv := r.IntN(2)
					op.Key = []byte(fmt.Sprintf("c/%d", conv))
					op.Prefix = []byte(fmt.Sprintf("y/%d/", conv))
					if op.DedupKey != nil {
						op.DedupKey = []byte(fmt.Sprintf("i/%d/%d", conv, r.IntN(4)))
					}
					for i := range op.Raise {
						op.Raise[i] = []byte(fmt.Sprintf("v/%d", r.IntN(3)))
					}
				}
				batch = append(batch, op)
			}
			batches = append(batches, batch)
		}
		ra, erra := a.Apply(idx, batches)
		rb, errb := b.Apply(idx, batches)
		rc, errc := c.Apply(idx, batches)
		c.cur.counters = nil
		if errc != nil || !reflect.DeepEqual(errStrings(rc), errStrings(rb)) {
			t.Fatalf("apply %d without the counter cache: %v\n%v\nwith it:\n%v", idx, errc, errStrings(rc), errStrings(rb))
		}
		if erra != nil || errb != nil {
			t.Fatalf("apply %d: %v / %v", idx, erra, errb)
		}
		if !reflect.DeepEqual(errStrings(ra), errStrings(rb)) {
			t.Fatalf("entry %d results differ:\n%+v\n%+v", idx, ra, rb)
		}
	}
	if !bytes.Equal(dump(t, a), dump(t, b)) {
		t.Fatal("stores differ after the same entries")
	}
	if !bytes.Equal(dump(t, b), dump(t, c)) {
		t.Fatal("the store without the counter cache differs")
	}
}

// errStrings replaces errors by their text so results compare with DeepEqual.
func errStrings(rs [][]Result) [][]string {
	var out [][]string
	for _, br := range rs {
		var row []string
		for _, r := range br {
			e := ""
			if r.Err != nil {
				e = r.Err.Error()
			}
			row = append(row, fmt.Sprintf("%d %v %d %v %s", r.Seq, r.Found, r.Count, r.Resumed, e))
		}
		out = append(out, row)
	}
	return out
}

func TestApplyInvalidBatchSkipped(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	res, err := s.Apply(1, [][]Op{
		{EnqueueOp("c", msg("t", "ok-1"))},
		{EnqueueOp("c", msg("t", "bad")), DeleteRawOp([]byte("s/c"))}, // raw key outside the IM range
		{EnqueueOp("c", msg("t", "ok-2")), IncrRawOp([]byte("x/k"), 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res[1] {
		if !errors.Is(r.Err, ErrInvalidOp) || !strings.Contains(r.Err.Error(), "op 1") {
			t.Fatalf("op %d of the invalid batch: %v", i, r.Err)
		}
	}
	if res[0][0].Err != nil || res[2][0].Err != nil || res[2][0].Seq != 2 {
		t.Fatalf("valid batches: %+v", res)
	}
	q, _ := s.Queue("c", 0, 0, time.Time{})
	if len(q) != 2 || string(q[0].Message.Payload) != "ok-1" || string(q[1].Message.Payload) != "ok-2" {
		t.Fatalf("queue %+v", q)
	}
	// IncrRaw on a value that is not a counter fails that op only.
	mustApply(t, s, 2, []Op{PutRawOp([]byte("x/s"), []byte("text"), 0)})
	res, err = s.Apply(3, [][]Op{{IncrRawOp([]byte("x/s"), 1), IncrRawOp([]byte("x/k"), 1)}})
	if err != nil || !errors.Is(res[0][0].Err, ErrInvalidOp) || res[0][1].Seq != 2 {
		t.Fatalf("incr: %+v %v", res, err)
	}
}

func TestCascadeDelete(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	for _, c := range []string{"a", "ab"} {
		mustApply(t, s, s.AppliedIndex()+1, []Op{
			PutSessionOp(sess(c)),
			PutSubscriptionOp(c, Subscription{Filter: "x/#"}),
			PutSubscriptionOp(c, Subscription{Filter: "y"}),
			EnqueueOp(c, msg("x/1", "1")),
			EnqueueOp(c, msg("x/1", "2")),
			PutInflightOp(c, Inflight{Dir: Outbound, PacketID: 1, Message: msg("x", "")}),
			PutInflightOp(c, Inflight{Dir: Inbound, PacketID: 2, Message: msg("x", "")}),
		})
	}
	res := mustApply(t, s, 10, []Op{DeleteSessionOp("a")})
	if r := res[0][0]; !r.Found || r.Count != 6 {
		t.Fatalf("delete result %+v", r)
	}
	if _, err := s.Session("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session: %v", err)
	}
	subs, _ := s.Subscriptions("a")
	q, _ := s.Queue("a", 0, 0, time.Time{})
	fl, _ := s.Inflight("a")
	if len(subs)+len(q)+len(fl) != 0 {
		t.Fatalf("left over: %d subs %d queued %d inflight", len(subs), len(q), len(fl))
	}
	// "ab" is untouched.
	subs, _ = s.Subscriptions("ab")
	q, _ = s.Queue("ab", 0, 0, time.Time{})
	fl, _ = s.Inflight("ab")
	if len(subs) != 2 || len(q) != 2 || len(fl) != 2 {
		t.Fatalf("ab: %d subs %d queued %d inflight", len(subs), len(q), len(fl))
	}
	// The seq counter survives: a new session of "a" continues after 2.
	res = mustApply(t, s, 11, []Op{PutSessionOp(sess("a")), EnqueueOp("a", msg("x", "3"))})
	if res[0][1].Seq != 3 {
		t.Fatalf("seq after delete %d", res[0][1].Seq)
	}
	// Deleting a missing session finds nothing.
	if res := mustApply(t, s, 12, []Op{DeleteSessionOp("zzz")}); res[0][0].Found || res[0][0].Count != 0 {
		t.Fatalf("missing session %+v", res[0][0])
	}
}

func TestPrefixExactness(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	ids := []string{"a", "ab", "a/b", "a/", "a\x00", "a\x00b", "\x00", "/"}
	var ops []Op
	for i, c := range ids {
		ops = append(ops, PutSessionOp(sess(c)))
		for j := 0; j <= i; j++ {
			ops = append(ops, PutSubscriptionOp(c, Subscription{Filter: fmt.Sprintf("f/%d", j)}))
			ops = append(ops, EnqueueOp(c, msg(c, fmt.Sprint(j))))
			ops = append(ops, PutInflightOp(c, Inflight{Dir: Outbound, PacketID: uint16(j + 1), Message: msg(c, "")}))
		}
	}
	mustApply(t, s, 1, ops)
	for i, c := range ids {
		subs, _ := s.Subscriptions(c)
		q, _ := s.Queue(c, 0, 0, time.Time{})
		fl, _ := s.Inflight(c)
		if len(subs) != i+1 || len(q) != i+1 || len(fl) != i+1 {
			t.Fatalf("client %q: %d subs %d queued %d inflight, want %d each", c, len(subs), len(q), len(fl), i+1)
		}
		for _, m := range q {
			if m.Message.Topic != c {
				t.Fatalf("client %q got %q's message", c, m.Message.Topic)
			}
		}
	}
	seen := map[string]int{}
	err := s.EachSubscription(func(client string, sub Subscription) error { seen[client]++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range ids {
		if seen[c] != i+1 {
			t.Fatalf("EachSubscription %q: %d", c, seen[c])
		}
	}
	sessions, _ := s.Sessions()
	if len(sessions) != len(ids) {
		t.Fatalf("%d sessions", len(sessions))
	}
	// Deleting "a" leaves every other id alone.
	mustApply(t, s, 2, []Op{DeleteSessionOp("a"), DequeueThroughOp("a/", 100)})
	for i, c := range ids[1:] {
		q, _ := s.Queue(c, 0, 0, time.Time{})
		want := i + 2
		if c == "a/" {
			want = 0
		}
		if len(q) != want {
			t.Fatalf("after delete of a: %q has %d queued, want %d", c, len(q), want)
		}
	}
}

func TestQueueOrder(t *testing.T) {
	cfg := testConfig(t)
	s, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	idx := uint64(0)
	next := uint64(1) // first seq still queued
	last := uint64(0)
	r := rand.New(rand.NewPCG(31, 32))
	for round := 0; round < 50; round++ {
		var ops []Op
		for range r.IntN(40) {
			ops = append(ops, EnqueueOp("c", msg("t", fmt.Sprint(last+uint64(len(ops))+1))))
		}
		idx++
		res := mustApply(t, s, idx, ops)
		for i, rr := range res[0] {
			if rr.Seq != last+uint64(i)+1 {
				t.Fatalf("seq %d, want %d", rr.Seq, last+uint64(i)+1)
			}
		}
		last += uint64(len(ops))
		if r.IntN(3) == 0 && last >= next {
			through := next + uint64(r.IntN(int(last-next+1)))
			idx++
			mustApply(t, s, idx, []Op{DequeueThroughOp("c", through)})
			next = through + 1
		}
	}
	check := func(s *Store) {
		t.Helper()
		q, err := s.Queue("c", 0, 0, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if uint64(len(q)) != last-next+1 {
			t.Fatalf("%d queued, want %d", len(q), last-next+1)
		}
		for i, m := range q {
			if m.Seq != next+uint64(i) || string(m.Message.Payload) != fmt.Sprint(m.Seq) {
				t.Fatalf("entry %d: seq %d payload %s", i, m.Seq, m.Message.Payload)
			}
		}
		// Paging with afterSeq and limit walks the same sequence.
		var paged []uint64
		after := uint64(0)
		for {
			page, err := s.Queue("c", after, 7, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, m := range page {
				paged = append(paged, m.Seq)
			}
			after = page[len(page)-1].Seq
		}
		if uint64(len(paged)) != last-next+1 {
			t.Fatalf("paged %d", len(paged))
		}
		if seq, _ := s.QueueSeq("c"); seq != last {
			t.Fatalf("queue seq %d, want %d", seq, last)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, cfg)
	check(s)
	res := mustApply(t, s, idx+1, []Op{EnqueueOp("c", msg("t", fmt.Sprint(last+1)))})
	if res[0][0].Seq != last+1 {
		t.Fatalf("seq after reopen %d", res[0][0].Seq)
	}
}

// TestApplySplitAndResume: an entry too big for one Badger transaction is split;
// a failure after a split commit leaves a progress record, Apply of another index
// is refused, and retrying the same index resumes and ends with exactly the
// content of a store that applied the entry in one go.
func TestApplySplitAndResume(t *testing.T) {
	var batches [][]Op
	for b := 0; b < 5; b++ {
		var batch []Op
		for i := 0; i < 30; i++ {
			c := fmt.Sprintf("c%d", (b+i)%3)
			batch = append(batch, EnqueueOp(c, msg("t", fmt.Sprintf("%d/%d", b, i))))
			if i%10 == 9 {
				batch = append(batch, PutSessionOp(sess(c)), DequeueThroughOp(c, uint64(i/2)))
			}
		}
		batches = append(batches, batch)
	}
	ref := mustOpen(t, memConfig())
	mustApply(t, ref, 1, []Op{PutSessionOp(sess("c0"))})
	want := mustApply(t, ref, 2, batches...)

	cfg := testConfig(t)
	s, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, 1, []Op{PutSessionOp(sess("c0"))})
	s.testTxnLimit = 20
	failAt := 3
	s.testAfterSplit = func(n int) error {
		if n == failAt {
			return errors.New("injected failure")
		}
		return nil
	}
	if _, err := s.Apply(2, batches); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("apply with failure: %v", err)
	}
	if s.AppliedIndex() != 1 || s.progress == nil {
		t.Fatalf("after failure: applied %d progress %+v", s.AppliedIndex(), s.progress)
	}
	_, err = s.Apply(3, nil)
	wantErr(t, err, ErrPartialApply)

	// The progress record survives a restart.
	s.Close()
	s = mustOpen(t, cfg)
	if s.progress == nil || s.progress.index != 2 {
		t.Fatalf("progress after reopen %+v", s.progress)
	}
	s.testTxnLimit = 20
	got, err := s.Apply(2, batches)
	if err != nil {
		t.Fatal(err)
	}
	resumed := 0
	for bi := range got {
		for oi, r := range got[bi] {
			if r.Resumed {
				resumed++
				continue
			}
			if !reflect.DeepEqual(r, want[bi][oi]) {
				t.Fatalf("batch %d op %d: %+v, want %+v", bi, oi, r, want[bi][oi])
			}
		}
	}
	if resumed == 0 {
		t.Fatal("no op reported as resumed")
	}
	if s.progress != nil || s.AppliedIndex() != 2 {
		t.Fatalf("after resume: progress %+v applied %d", s.progress, s.AppliedIndex())
	}
	if !bytes.Equal(dump(t, s), dump(t, ref)) {
		t.Fatal("resumed store differs from the reference")
	}
}

// TestApplyLargeCascade deletes a session whose queue is bigger than one Badger
// transaction, with the real limits.
func TestApplyLargeCascade(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	maxCount := s.cur.db.MaxBatchCount()
	n := int(maxCount) + 500
	var ops []Op
	for i := 0; i < n; i++ {
		ops = append(ops, EnqueueOp("big", Message{Topic: "t", Payload: []byte{byte(i)}}))
	}
	mustApply(t, s, 1, ops)
	if c, _, _ := s.QueueLen("big"); c != n {
		t.Fatalf("queued %d, want %d", c, n)
	}
	res := mustApply(t, s, 2, []Op{DeleteSessionOp("big")})
	if res[0][0].Count != n {
		t.Fatalf("deleted %d, want %d", res[0][0].Count, n)
	}
	if c, _, _ := s.QueueLen("big"); c != 0 {
		t.Fatalf("left %d", c)
	}
}
