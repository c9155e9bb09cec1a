package persist

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestDiskFullGuard: below persist.min_free_bytes every write is refused with
// ErrDiskFull before Badger sees it; nothing is applied and the applied index
// does not move. (The tmpfs test below fills a real file system.)
func TestDiskFullGuard(t *testing.T) {
	cfg := testConfig(t)
	s := mustOpen(t, cfg)
	mustApply(t, s, 1, []Op{EnqueueOp("c", msg("t", "1"))})
	before := dump(t, s)
	s.cfg.MinFreeBytes = 1 << 62 // more than any disk has

	res, err := s.Apply(2, [][]Op{{EnqueueOp("c", msg("t", "2"))}})
	wantErr(t, err, ErrDiskFull)
	if res != nil || s.AppliedIndex() != 1 {
		t.Fatalf("refused apply: results %v applied %d", res, s.AppliedIndex())
	}
	if !strings.Contains(err.Error(), "persist.min_free_bytes") {
		t.Fatalf("message should name the setting: %v", err)
	}
	wantErr(t, s.CheckSpace(), ErrDiskFull)
	wantErr(t, s.ClaimNodeID("n1"), ErrDiskFull)
	wantErr(t, s.Restore(bytes.NewReader(before)), ErrDiskFull)
	if !bytes.Equal(before, dump(t, s)) {
		t.Fatal("refused writes changed the store")
	}
	// Space is back: the next write succeeds without reopening.
	s.cfg.MinFreeBytes = 0
	if err := s.CheckSpace(); err != nil {
		t.Fatalf("CheckSpace with space: %v", err)
	}
	mustApply(t, s, 2, []Op{EnqueueOp("c", msg("t", "2"))})
	if q, _ := s.Queue("c", 0, 0, time.Time{}); len(q) != 2 {
		t.Fatalf("queue %d", len(q))
	}
}
