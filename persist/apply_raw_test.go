package persist

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func getCounter(t *testing.T, s *Store, key string) uint64 {
	t.Helper()
	v, err := s.GetRaw([]byte(key))
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(v) != 8 {
		t.Fatalf("%s holds %d bytes", key, len(v))
	}
	return binary.BigEndian.Uint64(v)
}

// TestAppendRaw: seqs 1..N, entries under the prefix, dedup hits report the
// original seq and write nothing, raise keys follow the seq.
func TestAppendRaw(t *testing.T) {
	s := mustOpen(t, memConfig())
	idx := uint64(0)
	apply := func(ops ...Op) []Result {
		idx++
		return mustApply(t, s, idx, ops)[0]
	}
	for i := 1; i <= 5; i++ {
		r := apply(AppendRawOp([]byte("c/a"), []byte("x/a/"), []byte(fmt.Sprintf("i/a/%d", i)),
			[]byte(fmt.Sprintf("m%d", i)), 99, []byte("v/a/alice")))
		if r[0].Seq != uint64(i) || r[0].Found {
			t.Fatalf("append %d: %+v", i, r[0])
		}
	}
	// Dedup hit: the original seq, nothing written, the counter unchanged.
	before := dump(t, s)
	idx++
	res, err := s.Apply(idx, [][]Op{{AppendRawOp([]byte("c/a"), []byte("x/a/"), []byte("i/a/3"), []byte("again"), 99, []byte("v/a/bob"))}})
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0][0]; r.Seq != 3 || !r.Found || r.Err != nil {
		t.Fatalf("dedup hit: %+v", r)
	}
	after := dump(t, s)
	// Only m/applied_index differs.
	if len(before) != len(after) {
		t.Fatalf("dedup hit changed the store: %d -> %d bytes", len(before), len(after))
	}
	if _, err := s.GetRaw([]byte("v/a/bob")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("raise key written on a dedup hit: %v", err)
	}
	if n := getCounter(t, s, "c/a"); n != 5 {
		t.Fatalf("counter %d", n)
	}
	if n := getCounter(t, s, "v/a/alice"); n != 5 {
		t.Fatalf("raise key %d", n)
	}
	var got []string
	err = s.ScanRaw([]byte("x/a/"), ScanOptions{}, func(k, v []byte) error {
		got = append(got, fmt.Sprintf("%d=%s", binary.BigEndian.Uint64(k[4:]), v))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1=m1", "2=m2", "3=m3", "4=m4", "5=m5"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("entries %v", got)
	}
	dv, err := s.GetRaw([]byte("i/a/4"))
	if err != nil {
		t.Fatal(err)
	}
	if seq, exp, err := ParseDedupRecord(dv); seq != 4 || exp != 99 || err != nil {
		t.Fatalf("dedup record %d %d %v", seq, exp, err)
	}
	// No dedup key: every append is new. Another log is independent.
	for i := 1; i <= 3; i++ {
		if r := apply(AppendRawOp([]byte("c/b"), []byte("x/b/"), nil, []byte("x"), 0)); r[0].Seq != uint64(i) {
			t.Fatalf("log b append %d: %+v", i, r[0])
		}
	}
	// A raise key already above the seq stays.
	apply(MaxRawOp([]byte("v/b/carol"), 100))
	apply(AppendRawOp([]byte("c/b"), []byte("x/b/"), nil, []byte("x"), 0, []byte("v/b/carol")))
	if n := getCounter(t, s, "v/b/carol"); n != 100 {
		t.Fatalf("raised below: %d", n)
	}
	// Several appends in one batch get consecutive seqs.
	r := apply(
		AppendRawOp([]byte("c/b"), []byte("x/b/"), []byte("i/b/x"), []byte("p"), 0),
		AppendRawOp([]byte("c/b"), []byte("x/b/"), []byte("i/b/x"), []byte("p"), 0), // dup within the batch
		AppendRawOp([]byte("c/b"), []byte("x/b/"), []byte("i/b/y"), []byte("q"), 0),
	)
	if r[0].Seq != 5 || r[1].Seq != 5 || !r[1].Found || r[2].Seq != 6 {
		t.Fatalf("batch: %+v", r)
	}
}

func TestMaxRaw(t *testing.T) {
	s := mustOpen(t, memConfig())
	steps := []struct {
		v     uint64
		seq   uint64
		found bool
	}{{0, 0, false}, {0, 0, true}, {5, 5, false}, {3, 5, true}, {5, 5, true}, {9, 9, false}}
	for i, st := range steps {
		r := mustApply(t, s, uint64(i+1), []Op{MaxRawOp([]byte("v/k"), st.v)})[0][0]
		if r.Seq != st.seq || r.Found != st.found {
			t.Fatalf("step %d max(%d): %+v, want seq %d found %v", i, st.v, r, st.seq, st.found)
		}
	}
}

// TestRawOpsNotACounter: a value of the wrong length fails the op, writes
// nothing, and the rest of the batch applies.
func TestRawOpsNotACounter(t *testing.T) {
	s := mustOpen(t, memConfig())
	mustApply(t, s, 1, []Op{
		PutRawOp([]byte("c/bad"), []byte("xyz"), 0),
		PutRawOp([]byte("i/bad"), []byte("0123"), 0),
		PutRawOp([]byte("v/bad"), []byte("no"), 0),
	})
	res, err := s.Apply(2, [][]Op{{
		MaxRawOp([]byte("c/bad"), 1),
		AppendRawOp([]byte("c/bad"), []byte("x/1/"), nil, nil, 0),
		AppendRawOp([]byte("c/ok"), []byte("x/2/"), []byte("i/bad"), nil, 0),
		AppendRawOp([]byte("c/ok"), []byte("x/2/"), nil, nil, 0, []byte("v/ok"), []byte("v/bad")),
		MaxRawOp([]byte("v/fine"), 4),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if !errors.Is(res[0][i].Err, ErrInvalidOp) {
			t.Fatalf("op %d: %+v", i, res[0][i])
		}
	}
	if res[0][4].Err != nil || res[0][4].Seq != 4 {
		t.Fatalf("last op: %+v", res[0][4])
	}
	for _, k := range []string{"c/ok", "v/ok", "x/2/\x00\x00\x00\x00\x00\x00\x00\x01"} {
		if _, err := s.GetRaw([]byte(k)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%q written by a failed op: %v", k, err)
		}
	}
}

func TestRawOpsValidation(t *testing.T) {
	long := append([]byte("x/"), bytes.Repeat([]byte("a"), maxKeySize)...)
	cases := []struct {
		name string
		op   Op
		want string
	}{
		{"counter not raw", AppendRawOp([]byte("s/c"), []byte("x/"), nil, nil, 0), "counter key"},
		{"prefix not raw", AppendRawOp([]byte("c/c"), []byte("q/"), nil, nil, 0), "entry prefix"},
		{"prefix too long", AppendRawOp([]byte("c/c"), long, nil, nil, 0), "entry prefix"},
		{"counter under prefix", AppendRawOp([]byte("x/a/c"), []byte("x/a/"), nil, nil, 0), "under the entry prefix"},
		{"dedup not raw", AppendRawOp([]byte("c/c"), []byte("x/"), []byte("m/x"), nil, 0), "dedup key"},
		{"dedup under prefix", AppendRawOp([]byte("c/c"), []byte("x/"), []byte("x/1"), nil, 0), "collides"},
		{"dedup is counter", AppendRawOp([]byte("c/c"), []byte("x/"), []byte("c/c"), nil, 0), "collides"},
		{"negative expiry", AppendRawOp([]byte("c/c"), []byte("x/"), []byte("i/1"), nil, -1), "expires"},
		{"raise not raw", AppendRawOp([]byte("c/c"), []byte("x/"), nil, nil, 0, []byte("b/")), "raise key 0"},
		{"raise is counter", AppendRawOp([]byte("c/c"), []byte("x/"), nil, nil, 0, []byte("v/1"), []byte("c/c")), "raise key 1"},
		{"raise under prefix", AppendRawOp([]byte("c/c"), []byte("x/"), nil, nil, 0, []byte("x/z")), "raise key 0"},
		{"max not raw", MaxRawOp([]byte("r/t"), 1), "outside"},
		{"max empty", MaxRawOp(nil, 1), "outside"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EncodeOps([]Op{tc.op})
			if !errors.Is(err, ErrInvalidOp) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("EncodeOps: %v, want ErrInvalidOp mentioning %q", err, tc.want)
			}
		})
	}
	raise := make([][]byte, maxRaise+1)
	for i := range raise {
		raise[i] = []byte(fmt.Sprintf("v/%d", i))
	}
	if _, err := EncodeOps([]Op{AppendRawOp([]byte("c/c"), []byte("x/"), nil, nil, 0, raise...)}); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("too many raise keys: %v", err)
	}
}

// TestAppendRawSplitResume: an entry of appends with dedup and raise keys, split
// every few writes and failed after a split commit, resumes to exactly the
// content and results of a store that applied it in one go (the dedup record of
// a half-written append is not taken for a duplicate).
func TestAppendRawSplitResume(t *testing.T) {
	var batch []Op
	for i := 0; i < 40; i++ {
		conv := i % 3
		batch = append(batch, AppendRawOp([]byte(fmt.Sprintf("c/%d", conv)), []byte(fmt.Sprintf("x/%d/", conv)),
			[]byte(fmt.Sprintf("i/%d/%d", conv, i%17)), []byte(fmt.Sprintf("m%d", i)), int64(i),
			[]byte(fmt.Sprintf("v/%d/a", conv)), []byte(fmt.Sprintf("v/%d/b", conv))))
		if i%5 == 0 {
			batch = append(batch, MaxRawOp([]byte(fmt.Sprintf("v/%d/c", conv)), uint64(i)))
		}
	}
	ref := mustOpen(t, memConfig())
	want := mustApply(t, ref, 1, batch)

	for failAt := 1; failAt <= 4; failAt++ {
		s := mustOpen(t, testConfig(t))
		s.testTxnLimit = 7
		s.testAfterSplit = func(n int) error {
			if n == failAt {
				return errors.New("injected failure")
			}
			return nil
		}
		if _, err := s.Apply(1, [][]Op{batch}); err == nil {
			t.Fatalf("failAt %d: no failure", failAt)
		}
		s.testAfterSplit = nil
		got, err := s.Apply(1, [][]Op{batch})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range got[0] {
			if !r.Resumed && !reflect.DeepEqual(r, want[0][i]) {
				t.Fatalf("failAt %d op %d: %+v, want %+v", failAt, i, r, want[0][i])
			}
		}
		if !bytes.Equal(dump(t, s), dump(t, ref)) {
			t.Fatalf("failAt %d: resumed store differs from the reference", failAt)
		}
	}
}
