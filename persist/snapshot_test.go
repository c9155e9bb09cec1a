package persist

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fill applies a mix of every kind of record and returns the next index.
func fill(t *testing.T, s *Store, seed uint64) uint64 {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed+1))
	idx := s.AppliedIndex()
	for range 30 {
		var batch []Op
		for range 10 {
			batch = append(batch, randOp(r))
		}
		idx++
		if _, err := s.Apply(idx, [][]Op{batch}); err != nil {
			t.Fatal(err)
		}
	}
	later := time.Now().Add(time.Hour).UnixMilli()
	m := msg("t", "ttl")
	m.Expiry = later
	idx++
	mustApply(t, s, idx, []Op{EnqueueOp("ttl", m), PutRawOp([]byte("x/ttl"), []byte("v"), later)})
	return idx
}

func TestSnapshotRestore(t *testing.T) {
	for _, mode := range []string{"disk", "memory"} {
		t.Run(mode, func(t *testing.T) {
			src := mustOpen(t, testConfig(t))
			if err := src.ClaimNodeID("src"); err != nil {
				t.Fatal(err)
			}
			idx := fill(t, src, 41)
			snap := dump(t, src)

			cfg := testConfig(t)
			if mode == "memory" {
				cfg = memConfig()
			}
			dst := mustOpen(t, cfg)
			if err := dst.ClaimNodeID("dst"); err != nil {
				t.Fatal(err)
			}
			fill(t, dst, 99) // state that must be replaced entirely
			if err := dst.Restore(bytes.NewReader(snap)); err != nil {
				t.Fatal(err)
			}
			if dst.AppliedIndex() != idx {
				t.Fatalf("applied %d, want %d", dst.AppliedIndex(), idx)
			}
			if !bytes.Equal(dump(t, dst), snap) {
				t.Fatal("restored content differs")
			}
			if id, _ := dst.NodeID(); id != "dst" {
				t.Fatalf("node id %q: restore must keep the local id", id)
			}
			// TTLs travel with the snapshot.
			q, _ := dst.Queue("ttl", 0, 0, time.Time{})
			if len(q) != 1 {
				t.Fatalf("ttl queue %d", len(q))
			}
			// The restored store keeps working and survives a reopen.
			mustApply(t, dst, idx+1, []Op{EnqueueOp("after", msg("t", "x"))})
			if mode == "disk" {
				if err := dst.Close(); err != nil {
					t.Fatal(err)
				}
				entries, _ := os.ReadDir(cfg.Dir)
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				if fmt.Sprint(names) != "[CURRENT data-000002 imqtt.lock]" {
					t.Fatalf("layout after restore %v", names)
				}
				dst = mustOpen(t, cfg)
				if dst.AppliedIndex() != idx+1 {
					t.Fatalf("applied after reopen %d", dst.AppliedIndex())
				}
				if id, _ := dst.NodeID(); id != "dst" {
					t.Fatalf("node id after reopen %q", id)
				}
			}
		})
	}
}

func TestSnapshotEmptyStore(t *testing.T) {
	src := mustOpen(t, memConfig())
	dst := mustOpen(t, testConfig(t))
	fill(t, dst, 5)
	if err := dst.Restore(bytes.NewReader(dump(t, src))); err != nil {
		t.Fatal(err)
	}
	if dst.AppliedIndex() != 0 {
		t.Fatalf("applied %d", dst.AppliedIndex())
	}
	if sessions, _ := dst.Sessions(); len(sessions) != 0 {
		t.Fatalf("%d sessions left", len(sessions))
	}
}

func TestRestoreRejectsCorrupt(t *testing.T) {
	src := mustOpen(t, memConfig())
	fill(t, src, 7)
	snap := dump(t, src)

	cfg := testConfig(t)
	dst := mustOpen(t, cfg)
	fill(t, dst, 8)
	before := dump(t, dst)
	applied := dst.AppliedIndex()

	cases := map[string][]byte{
		"empty":     {},
		"bad magic": append([]byte("NOTASNAP"), snap[8:]...),
		"trailing":  append(append([]byte{}, snap...), 0),
	}
	for _, n := range []int{1, 8, 9, 10, len(snap) / 3, len(snap) / 2, len(snap) - 5, len(snap) - 4, len(snap) - 1} {
		cases[fmt.Sprintf("truncated at %d", n)] = snap[:n]
	}
	for _, off := range []int{12, len(snap) / 2, len(snap) - 6, len(snap) - 2} {
		b := append([]byte{}, snap...)
		b[off] ^= 0x40
		cases[fmt.Sprintf("flipped byte %d", off)] = b
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			err := dst.Restore(bytes.NewReader(b))
			wantErr(t, err, ErrCorrupt)
			if dst.AppliedIndex() != applied || !bytes.Equal(dump(t, dst), before) {
				t.Fatal("a failed restore changed the store")
			}
			entries, _ := filepath.Glob(filepath.Join(cfg.Dir, "data-*"))
			if len(entries) != 1 {
				t.Fatalf("generation dirs left behind: %v", entries)
			}
		})
	}
	// An I/O error from the reader is returned as such, not as ErrCorrupt.
	ioErr := errors.New("connection reset")
	err := dst.Restore(&failingReader{data: snap[:len(snap)/2], err: ioErr})
	if !errors.Is(err, ioErr) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("reader error: %v", err)
	}
	// The store still works.
	mustApply(t, dst, applied+1, []Op{EnqueueOp("c", msg("t", "x"))})
}

type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestSnapshotViewPointInTime: a view captured before later Applies writes the
// state at its capture, even while Applies continue.
func TestSnapshotViewPointInTime(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	mustApply(t, s, 1, []Op{EnqueueOp("c", msg("t", "1"))})
	want := dump(t, s)
	v, err := s.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if v.Index() != 1 {
		t.Fatalf("view index %d", v.Index())
	}
	for i := uint64(2); i < 20; i++ {
		mustApply(t, s, i, []Op{EnqueueOp("c", msg("t", fmt.Sprint(i))), PutSessionOp(sess("c"))})
	}
	var buf bytes.Buffer
	if _, err := v.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	v.Release()
	v.Release()
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatal("view is not the state at capture")
	}
	if _, err := v.WriteTo(&buf); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after release: %v", err)
	}
}

// TestRestoreWithConcurrentReaders: readers running during Restore see the old
// or the new state, never an error or a mix, and Restore waits for an open view.
func TestRestoreWithConcurrentReaders(t *testing.T) {
	src := mustOpen(t, memConfig())
	var ops []Op
	for i := 0; i < 50; i++ {
		ops = append(ops, EnqueueOp("c", msg("t", "new")))
	}
	mustApply(t, src, 100, ops)
	snap := dump(t, src)

	dst := mustOpen(t, testConfig(t))
	ops = ops[:0]
	for i := 0; i < 10; i++ {
		ops = append(ops, EnqueueOp("c", msg("t", "old")))
	}
	mustApply(t, dst, 1, ops)

	view, err := dst.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				q, err := dst.Queue("c", 0, 0, time.Time{})
				if err != nil {
					errs <- err
					return
				}
				if len(q) != 10 && len(q) != 50 {
					errs <- fmt.Errorf("reader saw %d entries", len(q))
					return
				}
			}
		}()
	}
	restored := make(chan error, 1)
	go func() { restored <- dst.Restore(bytes.NewReader(snap)) }()
	// Restore cannot retire the old generation while the view is open.
	select {
	case err := <-restored:
		t.Fatalf("restore finished with a view open: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	var buf bytes.Buffer
	if _, err := view.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	view.Release()
	if err := <-restored; err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if q, _ := dst.Queue("c", 0, 0, time.Time{}); len(q) != 50 {
		t.Fatalf("after restore %d entries", len(q))
	}
}
