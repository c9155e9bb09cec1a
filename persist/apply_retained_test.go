package persist

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func usage(t testing.TB, s *Store, owner string) RetainedUsage {
	t.Helper()
	u, err := s.RetainedUsage(owner)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// applyOne applies one op at index and returns its result (Err included).
func applyOne(t testing.TB, s *Store, index uint64, op Op) Result {
	t.Helper()
	res, err := s.Apply(index, [][]Op{{op}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0][0]
}

func TestRetainedQuota(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	idx := uint64(0)
	put := func(owner, topic, payload string, maxCount, maxBytes uint64) Result {
		idx++
		return applyOne(t, s, idx, PutRetainedOwnedOp(msg(topic, payload), owner, maxCount, maxBytes))
	}
	// Count bound: 2 messages.
	for _, topic := range []string{"a/1", "a/2"} {
		if r := put("alice", topic, "xx", 2, 0); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	r := put("alice", "a/3", "xx", 2, 0)
	wantErr(t, r.Err, ErrQuotaExceeded)
	if _, err := s.Retained("a/3", time.Time{}); err == nil {
		t.Fatal("refused message was stored")
	}
	if u := usage(t, s, "alice"); u != (RetainedUsage{Count: 2, Bytes: 10}) {
		t.Fatalf("usage %+v", u)
	}
	// Replacing one's own message counts the difference.
	if r := put("alice", "a/1", "xxxxxx", 2, 14); r.Err != nil {
		t.Fatal(r.Err)
	}
	if u := usage(t, s, "alice"); u != (RetainedUsage{Count: 2, Bytes: 14}) {
		t.Fatalf("usage after replace %+v", u)
	}
	wantErr(t, put("alice", "a/1", "xxxxxxx", 2, 14).Err, ErrQuotaExceeded) // bytes bound
	// An empty payload deletes and frees the quota, always.
	if r := put("alice", "a/1", "", 1, 1); r.Err != nil || !r.Found {
		t.Fatalf("delete: %+v", r)
	}
	if u := usage(t, s, "alice"); u != (RetainedUsage{Count: 1, Bytes: 5}) {
		t.Fatalf("usage after delete %+v", u)
	}
	if r := put("alice", "a/3", "xx", 2, 0); r.Err != nil {
		t.Fatal(r.Err)
	}
	// bob overwrites alice's a/2: it counts for bob and frees alice's share.
	if r := put("bob", "a/2", "yyy", 10, 0); r.Err != nil {
		t.Fatal(r.Err)
	}
	if a, b := usage(t, s, "alice"), usage(t, s, "bob"); a != (RetainedUsage{Count: 1, Bytes: 5}) || b != (RetainedUsage{Count: 1, Bytes: 6}) {
		t.Fatalf("usage alice %+v bob %+v", a, b)
	}
	// An unowned write (OpPutRetained / OpDeleteRetained) frees the owner too.
	idx++
	mustApply(t, s, idx, []Op{DeleteRetainedOp("a/2"), PutRetainedOp(msg("a/3", "z"))})
	if a, b := usage(t, s, "alice"), usage(t, s, "bob"); a != (RetainedUsage{}) || b != (RetainedUsage{}) {
		t.Fatalf("usage after unowned writes: alice %+v bob %+v", a, b)
	}
	if n := countKeys(t, s, "t/"); n != 0 {
		t.Fatalf("%d quota keys left", n)
	}
}

// TestRetainedQuotaExpired: messages whose expiry passed by the op's clock
// (Message.Created) make room for a new one.
func TestRetainedQuotaExpired(t *testing.T) {
	s := mustOpen(t, memConfig())
	old := msg("e/1", "old")
	old.Created, old.Expiry = 1_000, 2_000
	mustApply(t, s, 1, []Op{PutRetainedOwnedOp(old, "carol", 1, 0)})
	early := msg("e/2", "new")
	early.Created = 1_500
	wantErr(t, applyOne(t, s, 2, PutRetainedOwnedOp(early, "carol", 1, 0)).Err, ErrQuotaExceeded)
	late := early
	late.Created = 2_000
	if r := applyOne(t, s, 3, PutRetainedOwnedOp(late, "carol", 1, 0)); r.Err != nil {
		t.Fatal(r.Err)
	}
	if u := usage(t, s, "carol"); u != (RetainedUsage{Count: 1, Bytes: 6}) {
		t.Fatalf("usage %+v", u)
	}
	if n := countKeys(t, s, pfxRetExpiring); n != 0 {
		t.Fatalf("%d expiry index entries left", n)
	}
}

// TestRetainedQuotaSplit: quota bookkeeping interrupted by splits ends as in
// an unsplit store.
func TestRetainedQuotaSplit(t *testing.T) {
	var batch []Op
	for i := range 40 {
		m := msg("q/"+strings.Repeat("t", i%7), strings.Repeat("p", i))
		if i%3 == 0 {
			m.Expiry = 1_700_000_000_500
		}
		batch = append(batch, PutRetainedOwnedOp(m, []string{"a", "b", ""}[i%3], 5, 200))
	}
	ref := mustOpen(t, memConfig())
	mustApply(t, ref, 1, batch)
	s := mustOpen(t, testConfig(t))
	s.testTxnLimit = 9
	fail := true
	s.testAfterSplit = func(n int) error {
		if n == 2 && fail {
			fail = false
			return errFailInjected
		}
		return nil
	}
	if _, err := s.Apply(1, [][]Op{batch}); err == nil {
		t.Fatal("no injected failure")
	}
	if _, err := s.Apply(1, [][]Op{batch}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dump(t, s), dump(t, ref)) {
		t.Fatal("resumed store differs from the reference")
	}
}

var errFailInjected = errorString("injected failure")

type errorString string

func (e errorString) Error() string { return string(e) }
