package persist

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// applyRaw applies batches at index and returns the results, failing the test
// only on a store error (op errors are the point of these tests).
func applyRaw(t *testing.T, s *Store, index uint64, batches ...[]Op) [][]Result {
	t.Helper()
	res, err := s.Apply(index, batches)
	if err != nil {
		t.Fatalf("apply %d: %v", index, err)
	}
	return res
}

func wantRaw(t *testing.T, s *Store, key, want string) {
	t.Helper()
	v, err := s.GetRaw([]byte(key))
	if want == "<absent>" {
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: %q %v, want absent", key, v, err)
		}
		return
	}
	if err != nil || string(v) != want {
		t.Fatalf("%s: %q %v, want %q", key, v, err, want)
	}
}

func TestRequireRawPass(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	mustApply(t, s, 1, []Op{PutRawOp([]byte("g/m/alice"), []byte("owner"), 0), PutRawOp([]byte("g/empty"), nil, 0)})
	res := mustApply(t, s, 2, []Op{
		RequireRawOp([]byte("g/m/alice"), []byte("owner")),
		RequireRawAbsentOp([]byte("g/m/bob")),
		RequireRawOp([]byte("g/empty"), nil),
		PutRawOp([]byte("g/m/alice"), []byte("member"), 0),
		PutRawOp([]byte("g/m/bob"), []byte("owner"), 0),
		IncrRawOp([]byte("c/n"), 3),
	})
	if !res[0][0].Found || res[0][1].Found || res[0][5].Seq != 3 {
		t.Fatalf("results %+v", res[0])
	}
	wantRaw(t, s, "g/m/alice", "member")
	wantRaw(t, s, "g/m/bob", "owner")
}

func TestRequireRawFailSkipsBatch(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	mustApply(t, s, 1, []Op{PutRawOp([]byte("g/m/alice"), []byte("member"), 0)})
	cases := []struct {
		name  string
		guard Op
	}{
		{"other value", RequireRawOp([]byte("g/m/alice"), []byte("owner"))},
		{"longer value", RequireRawOp([]byte("g/m/alice"), []byte("member!"))},
		{"absent key", RequireRawOp([]byte("g/m/zed"), []byte("member"))},
		{"empty vs absent", RequireRawOp([]byte("g/m/zed"), nil)},
		{"absent guard on a present key", RequireRawAbsentOp([]byte("g/m/alice"))},
	}
	idx := uint64(1)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			idx++
			res := applyRaw(t, s, idx,
				[]Op{
					RequireRawAbsentOp([]byte("g/m/nobody")), // passes
					c.guard,
					RequireRawAbsentOp([]byte("g/m/other")), // skipped though it would pass
					PutRawOp([]byte("g/m/alice"), []byte("owner"), 0),
					DeleteRawOp([]byte("g/m/alice")),
					IncrRawOp([]byte("c/n"), 1),
					AppendRawOp([]byte("c/log"), []byte("x/log/"), nil, []byte("m"), 0),
				},
				[]Op{PutRawOp([]byte("x/other-batch"), []byte(c.name), 0)},
			)
			if res[0][0].Err != nil {
				t.Fatalf("passing guard: %v", res[0][0].Err)
			}
			for i, r := range res[0][1:] {
				if !errors.Is(r.Err, ErrConflict) {
					t.Fatalf("op %d: %+v, want ErrConflict", i+1, r)
				}
			}
			if res[1][0].Err != nil {
				t.Fatalf("other batch: %v", res[1][0].Err)
			}
			wantRaw(t, s, "g/m/alice", "member")
			wantRaw(t, s, "c/n", "<absent>")
			wantRaw(t, s, "c/log", "<absent>")
			wantRaw(t, s, "x/log/\x00\x00\x00\x00\x00\x00\x00\x01", "<absent>")
			wantRaw(t, s, "x/other-batch", c.name)
		})
	}
}

// TestRequireRawAbsentTTL: a key carrying a TTL counts as absent for a guard,
// as for every read that decides what Apply writes (replica clocks differ).
func TestRequireRawAbsentTTL(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	later := time.Now().Add(time.Hour).UnixMilli()
	mustApply(t, s, 1, []Op{PutRawOp([]byte("x/ttl"), []byte("v"), later)})
	wantRaw(t, s, "x/ttl", "v")
	mustApply(t, s, 2, []Op{RequireRawAbsentOp([]byte("x/ttl")), PutRawOp([]byte("x/a"), []byte("1"), 0)})
	wantRaw(t, s, "x/a", "1")
	res := applyRaw(t, s, 3, []Op{RequireRawOp([]byte("x/ttl"), []byte("v")), PutRawOp([]byte("x/a"), []byte("2"), 0)})
	wantErr(t, res[0][0].Err, ErrConflict)
	wantRaw(t, s, "x/a", "1")
}

func TestRequireRawValidation(t *testing.T) {
	after := []Op{PutRawOp([]byte("x/a"), []byte("1"), 0), RequireRawAbsentOp([]byte("x/a"))}
	bad := map[string][]Op{
		"guard after a put":    after,
		"absent with a value":  {{Kind: OpRequireRaw, Key: []byte("x/a"), Value: []byte("v"), IfAbsent: true}},
		"key outside raw":      {RequireRawOp([]byte("s/client"), []byte("v"))},
		"value above the max":  {RequireRawOp([]byte("x/a"), make([]byte, MaxRecordSize+1))},
		"guard after a delete": {RequireRawAbsentOp([]byte("x/b")), DeleteRawOp([]byte("x/a")), RequireRawAbsentOp([]byte("x/a"))},
	}
	s := mustOpen(t, testConfig(t))
	idx := uint64(0)
	for name, batch := range bad {
		if _, err := EncodeOps(batch); !errors.Is(err, ErrInvalidOp) {
			t.Fatalf("%s: encode %v", name, err)
		}
		idx++
		res := applyRaw(t, s, idx, batch)
		for i, r := range res[0] {
			if !errors.Is(r.Err, ErrInvalidOp) {
				t.Fatalf("%s: op %d: %+v", name, i, r)
			}
		}
	}
	wantRaw(t, s, "x/a", "<absent>")
	// DecodeOps refuses a guard after another op too (bytes built by hand,
	// since EncodeOps will not produce them).
	b := append([]byte{opsVersion}, byte(len(after)))
	for i := range after {
		var err error
		if b, err = appendOp(b, &after[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := DecodeOps(b); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("decode guard after put: %v", err)
	}
	// Guards first, several of them: fine.
	if _, err := EncodeOps([]Op{RequireRawAbsentOp([]byte("x/a")), RequireRawOp([]byte("x/b"), nil), PutRawOp([]byte("x/a"), nil, 0)}); err != nil {
		t.Fatal(err)
	}
}

// TestRequireRawSplitResume: a guard that passed is not evaluated again when
// a split entry resumes (the batch's own writes may have changed the guarded
// key by then): the resumed store equals one that applied the entry at once.
func TestRequireRawSplitResume(t *testing.T) {
	seed := []Op{PutRawOp([]byte("g/owner"), []byte("alice"), 0)}
	batch := []Op{
		RequireRawOp([]byte("g/owner"), []byte("alice")),
		RequireRawAbsentOp([]byte("g/m/bob")),
		PutRawOp([]byte("g/owner"), []byte("bob"), 0),
		PutRawOp([]byte("g/m/bob"), []byte("owner"), 0),
	}
	for i := 0; i < 30; i++ {
		batch = append(batch, PutRawOp([]byte(fmt.Sprintf("x/%02d", i)), []byte("v"), 0))
	}
	failing := []Op{RequireRawOp([]byte("g/owner"), []byte("carol")), PutRawOp([]byte("g/owner"), []byte("dave"), 0)}
	entry := [][]Op{failing, batch, failing}
	ref := mustOpen(t, memConfig())
	mustApply(t, ref, 1, seed)
	want := applyRaw(t, ref, 2, entry...)
	for failAt := 1; failAt <= 4; failAt++ {
		s := mustOpen(t, testConfig(t))
		mustApply(t, s, 1, seed)
		s.testTxnLimit = 7
		s.testAfterSplit = func(n int) error {
			if n == failAt {
				return errors.New("injected failure")
			}
			return nil
		}
		if _, err := s.Apply(2, entry); err == nil {
			t.Fatalf("failAt %d: no failure", failAt)
		}
		s.testAfterSplit = nil
		got := applyRaw(t, s, 2, entry...)
		for bi := range got {
			for i, r := range got[bi] {
				if !r.Resumed && !reflect.DeepEqual(errStrings([][]Result{{r}}), errStrings([][]Result{{want[bi][i]}})) {
					t.Fatalf("failAt %d batch %d op %d: %+v, want %+v", failAt, bi, i, r, want[bi][i])
				}
			}
		}
		wantRaw(t, s, "g/owner", "bob")
		if !bytes.Equal(dump(t, s), dump(t, ref)) {
			t.Fatalf("failAt %d: resumed store differs from the reference", failAt)
		}
	}
}

// randGuards returns 0..2 guards on keys the deterministic test also writes.
func randGuards(r interface{ IntN(int) int }) []Op {
	keys := []string{"x/0", "x/1", "c/0", "v/1"}
	var out []Op
	for range r.IntN(3) {
		k := []byte(keys[r.IntN(len(keys))])
		switch r.IntN(3) {
		case 0:
			out = append(out, RequireRawAbsentOp(k))
		case 1:
			out = append(out, RequireRawOp(k, binary.BigEndian.AppendUint64(nil, uint64(r.IntN(3)))))
		default:
			out = append(out, RequireRawOp(k, []byte("v")))
		}
	}
	return out
}
