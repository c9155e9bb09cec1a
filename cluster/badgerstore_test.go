package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

// logStoreUnderTest opens each LogStore+StableStore implementation the node
// supports in dir.
func openStoreKind(t *testing.T, kind, dir string) logStore {
	t.Helper()
	s, err := openLogStore(kind, dir, testLogger(t), newHCLog(testLogger(t), "raft"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func makeLogs(from, to uint64) []*raft.Log {
	var logs []*raft.Log
	for i := from; i <= to; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1 + i/10, Type: raft.LogCommand, Data: []byte(fmt.Sprintf("entry-%d", i))})
	}
	return logs
}

// The same LogStore/StableStore contract for both implementations.
func TestLogStores(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			checkGoroutines(t)
			dir := t.TempDir()
			s := openStoreKind(t, kind, dir)
			if first, _ := s.FirstIndex(); first != 0 {
				t.Fatalf("empty store first index %d", first)
			}
			if last, _ := s.LastIndex(); last != 0 {
				t.Fatalf("empty store last index %d", last)
			}
			var l raft.Log
			if err := s.GetLog(1, &l); !errors.Is(err, raft.ErrLogNotFound) {
				t.Fatalf("GetLog on empty store = %v, want ErrLogNotFound", err)
			}
			if err := s.StoreLogs(makeLogs(1, 100)); err != nil {
				t.Fatal(err)
			}
			if err := s.StoreLog(makeLogs(101, 101)[0]); err != nil {
				t.Fatal(err)
			}
			checkRange(t, s, 1, 101)
			// Compaction (prefix); suffix truncation is TestLogStoreTailTruncation.
			if err := s.DeleteRange(1, 40); err != nil {
				t.Fatal(err)
			}
			checkRange(t, s, 41, 101)

			// raft treats a missing stable key as an error whose text is
			// exactly "not found", or as a zero value with no error (raft-wal).
			if v, err := s.GetUint64([]byte("CurrentTerm")); (err == nil && v != 0) || (err != nil && err.Error() != "not found") {
				t.Fatalf("missing uint64 key: %d, %v", v, err)
			}
			if v, err := s.Get([]byte("LastVoteCand")); (err == nil && len(v) != 0) || (err != nil && err.Error() != "not found") {
				t.Fatalf("missing key: %q, %v", v, err)
			}
			if err := s.SetUint64([]byte("CurrentTerm"), 7); err != nil {
				t.Fatal(err)
			}
			if err := s.Set([]byte("LastVoteCand"), []byte("n2")); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			// Everything is durable across a reopen.
			s = openStoreKind(t, kind, dir)
			defer s.Close()
			checkRange(t, s, 41, 101)
			if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 7 {
				t.Fatalf("CurrentTerm = %d, %v", v, err)
			}
			if v, err := s.Get([]byte("LastVoteCand")); err != nil || string(v) != "n2" {
				t.Fatalf("LastVoteCand = %q, %v", v, err)
			}
		})
	}
}

func checkRange(t *testing.T, s raft.LogStore, first, last uint64) {
	t.Helper()
	if got, err := s.FirstIndex(); err != nil || got != first {
		t.Fatalf("FirstIndex = %d, %v; want %d", got, err, first)
	}
	if got, err := s.LastIndex(); err != nil || got != last {
		t.Fatalf("LastIndex = %d, %v; want %d", got, err, last)
	}
	for i := first; i <= last; i++ {
		var l raft.Log
		if err := s.GetLog(i, &l); err != nil {
			t.Fatalf("GetLog(%d): %v", i, err)
		}
		if want := makeLogs(i, i)[0]; l.Index != i || l.Term != want.Term || !bytes.Equal(l.Data, want.Data) {
			t.Fatalf("GetLog(%d) = %+v", i, l)
		}
	}
}

// tailTruncateAndReopen stores 1..100, truncates the suffix 91..100 the way a
// follower clears conflicting entries, appends 91..95 again, reopens, and
// returns the error of reading the whole log back.
func tailTruncateAndReopen(t *testing.T, kind string) error {
	t.Helper()
	dir := t.TempDir()
	s := openStoreKind(t, kind, dir)
	if err := s.StoreLogs(makeLogs(1, 100)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(91, 100); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLogs(makeLogs(91, 95)); err != nil {
		t.Fatal(err)
	}
	checkRange(t, s, 1, 95)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStoreKind(t, kind, dir)
	defer s.Close()
	for i := uint64(1); i <= 95; i++ {
		var l raft.Log
		if err := s.GetLog(i, &l); err != nil {
			return fmt.Errorf("GetLog(%d) after reopen: %w", i, err)
		}
	}
	if last, err := s.LastIndex(); err != nil || last != 95 {
		return fmt.Errorf("LastIndex after reopen = %d, %v", last, err)
	}
	return nil
}

func TestBadgerStoreTailTruncationSurvivesRestart(t *testing.T) {
	checkGoroutines(t)
	if err := tailTruncateAndReopen(t, LogStoreBadger); err != nil {
		t.Fatal(err)
	}
}

// TestRaftWALTailTruncationBug pins a known bug of hashicorp/raft-wal v0.4.0
// (the only version the module proxy serves here): a tail truncation marks the
// tail segment sealed without writing its index block, so after a restart the
// entries before the truncation point cannot be read and raft panics in
// NewRaft ("sealed segment has no index block"; raft-wal issue #31, fixed by
// PR #33 after v0.4.0). Raft truncates a suffix on a follower that holds
// conflicting uncommitted entries, i.e. in a multi-node cluster after a leader
// change. This is why "badger" is the default log store (DESIGN.md). When
// this test fails, the dependency was fixed: revisit the default and delete
// this test.
func TestRaftWALTailTruncationBug(t *testing.T) {
	checkGoroutines(t)
	err := tailTruncateAndReopen(t, LogStoreWAL)
	if err == nil {
		t.Fatal("raft-wal survives a tail truncation and restart now: the bug is fixed, revisit the log store default (cluster/DESIGN.md)")
	}
	if !strings.Contains(err.Error(), "sealed segment has no index block") {
		t.Fatalf("raft-wal fails differently than the known bug: %v", err)
	}
}

// Badger-only details: a batch larger than one Badger transaction, and a
// deleted range really gone (the WAL may keep serving its tail segment).
func TestBadgerStoreLargeBatchAndDelete(t *testing.T) {
	checkGoroutines(t)
	s, err := OpenBadgerStore(t.TempDir(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	big := bytes.Repeat([]byte("b"), 1<<20)
	var logs []*raft.Log
	for i := uint64(1); i <= 40; i++ { // 40 MiB: beyond one transaction
		logs = append(logs, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: big})
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	if last, _ := s.LastIndex(); last != 40 {
		t.Fatalf("LastIndex %d", last)
	}
	if err := s.DeleteRange(1, 39); err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	if err := s.GetLog(39, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog(39) after delete = %v", err)
	}
	if err := s.GetLog(40, &l); err != nil || !bytes.Equal(l.Data, big) {
		t.Fatalf("GetLog(40) = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
