package persist

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

func TestOpenCloseReopen(t *testing.T) {
	cfg := testConfig(t)
	s, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, 1, []Op{PutSessionOp(sess("c1")), PutRetainedOp(msg("r/1", "x"))})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	// Everything after Close is ErrClosed.
	_, err = s.Apply(2, nil)
	wantErr(t, err, ErrClosed)
	_, err = s.Session("c1")
	wantErr(t, err, ErrClosed)
	wantErr(t, s.Snapshot(new(strings.Builder)), ErrClosed)
	_, err = s.BeginSnapshot()
	wantErr(t, err, ErrClosed)

	s2 := mustOpen(t, cfg)
	if got := s2.AppliedIndex(); got != 1 {
		t.Fatalf("applied index after reopen %d", got)
	}
	if _, err := s2.Session("c1"); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(cfg.Dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "CURRENT,data-000001,imqtt.lock" {
		t.Fatalf("layout: %v", names)
	}
}

func TestLockInProcess(t *testing.T) {
	cfg := testConfig(t)
	s := mustOpen(t, cfg)
	_, err := Open(cfg, testLogger(t))
	wantErr(t, err, ErrLocked)
	if !strings.Contains(err.Error(), cfg.Dir) {
		t.Fatalf("lock error does not name the dir: %v", err)
	}
	if !strings.Contains(err.Error(), "pid ") {
		t.Fatalf("lock error does not name the holder: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, cfg) // free again
}

func TestForeignDirectories(t *testing.T) {
	tests := []struct {
		name string
		prep func(t *testing.T, dir string)
		want error
		msg  string
	}{
		{"random file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "notes.txt"), "hello")
		}, ErrForeignDir, "notes.txt"},
		{"garbage MANIFEST", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "MANIFEST"), "garbage garbage garbage")
		}, ErrForeignDir, "MANIFEST"},
		{"bare badger database", func(t *testing.T, dir string) {
			db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
			if err != nil {
				t.Fatal(err)
			}
			_ = db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("k"), []byte("v")) })
			_ = db.Close()
		}, ErrForeignDir, "no CURRENT"},
		{"non-empty generation dir without CURRENT", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "data-000001", "x"), "x")
		}, ErrForeignDir, "data-000001"},
		{"badger database of another schema", func(t *testing.T, dir string) {
			makeBadger(t, dir, map[string]string{"user:1": "alice"})
		}, ErrForeignDir, "without an imqtt schema record"},
		{"other schema record", func(t *testing.T, dir string) {
			makeBadger(t, dir, map[string]string{string(keySchema): "OTHERAPP\x00\x00\x00\x01"})
		}, ErrForeignDir, "not imqtt's"},
		{"newer schema", func(t *testing.T, dir string) {
			makeBadger(t, dir, map[string]string{string(keySchema): string(binary.BigEndian.AppendUint32([]byte(schemaMagic), 7))})
		}, ErrSchemaVersion, "version 7"},
		{"garbage CURRENT", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, currentFileName), "hello\n")
		}, ErrCorrupt, "CURRENT holds"},
		{"CURRENT names a missing generation", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, currentFileName), "data-000004\n")
		}, ErrCorrupt, "missing"},
		{"garbage MANIFEST in generation", func(t *testing.T, dir string) {
			initStore(t, dir)
			writeFile(t, filepath.Join(dir, "data-000001", "MANIFEST"), "garbage garbage garbage")
		}, ErrCorrupt, "manifest"},
		{"garbage table in generation", func(t *testing.T, dir string) {
			initStore(t, dir)
			tables, _ := filepath.Glob(filepath.Join(dir, "data-000001", "*.sst"))
			if len(tables) == 0 {
				t.Fatal("no table to damage")
			}
			writeFile(t, tables[0], "garbagegarbagegarbagegarbage")
		}, ErrCorrupt, "table"},
		{"truncated table in generation", func(t *testing.T, dir string) {
			initStore(t, dir)
			tables, _ := filepath.Glob(filepath.Join(dir, "data-000001", "*.sst"))
			if len(tables) == 0 {
				t.Fatal("no table to damage")
			}
			if err := os.Truncate(tables[0], 100); err != nil {
				t.Fatal(err)
			}
		}, ErrCorrupt, "table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.prep(t, dir)
			before := listTree(t, dir)
			cfg := testConfig(t)
			cfg.Dir = dir
			s, err := Open(cfg, testLogger(t))
			if err == nil {
				s.Close()
				t.Fatal("open succeeded")
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err %v, want %v mentioning %q", err, tt.want, tt.msg)
			}
			if errors.Is(err, ErrForeignDir) && !strings.Contains(err.Error(), "data-000001") {
				// A foreign top-level directory is left exactly as it was.
				if after := listTree(t, dir); after != before {
					t.Fatalf("foreign dir modified:\nbefore %s\nafter  %s", before, after)
				}
			}
		})
	}
}

// makeBadger builds an imqtt-shaped directory whose generation holds a Badger
// database with the given keys.
func makeBadger(t *testing.T, dir string, kv map[string]string) {
	t.Helper()
	gdir := filepath.Join(dir, "data-000001")
	db, err := badger.Open(badger.DefaultOptions(gdir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		for k, v := range kv {
			if err := txn.Set([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, currentFileName), "data-000001\n")
}

// initStore creates a store in dir with some data flushed to tables.
func initStore(t *testing.T, dir string) {
	t.Helper()
	cfg := testConfig(t)
	cfg.Dir = dir
	s, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, 1, []Op{PutSessionOp(sess("c1")), PutRetainedOp(msg("a", "b"))})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func listTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, _ := d.Info()
		b.WriteString(p)
		if fi != nil && !d.IsDir() {
			b.WriteString(":" + fi.ModTime().String())
		}
		b.WriteByte('\n')
		return nil
	})
	return b.String()
}

func TestRecoveryLeftovers(t *testing.T) {
	t.Run("interrupted first open", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, lockFileName), "")
		writeFile(t, filepath.Join(dir, currentTmpName), "data-0000")
		if err := os.Mkdir(filepath.Join(dir, "data-000001"), 0o755); err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(t)
		cfg.Dir = dir
		s := mustOpen(t, cfg)
		mustApply(t, s, 1, []Op{PutSessionOp(sess("c"))})
	})
	t.Run("stale generations removed", func(t *testing.T) {
		cfg := testConfig(t)
		initStore(t, cfg.Dir)
		writeFile(t, filepath.Join(cfg.Dir, "data-000002", "MANIFEST"), "half restored")
		writeFile(t, filepath.Join(cfg.Dir, currentTmpName), "data-000002\n")
		s := mustOpen(t, cfg)
		if _, err := os.Stat(filepath.Join(cfg.Dir, "data-000002")); !os.IsNotExist(err) {
			t.Fatalf("stale generation kept: %v", err)
		}
		if _, err := os.Stat(filepath.Join(cfg.Dir, currentTmpName)); !os.IsNotExist(err) {
			t.Fatalf("CURRENT.tmp kept: %v", err)
		}
		if s.AppliedIndex() != 1 {
			t.Fatalf("applied %d", s.AppliedIndex())
		}
	})
}

func TestNodeID(t *testing.T) {
	cfg := testConfig(t)
	s, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if id, err := s.NodeID(); err != nil || id != "" {
		t.Fatalf("fresh node id %q %v", id, err)
	}
	if err := s.ClaimNodeID("n1"); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimNodeID("n1"); err != nil {
		t.Fatalf("same id again: %v", err)
	}
	wantErr(t, s.ClaimNodeID("n2"), ErrNodeIDMismatch)
	wantErr(t, s.ClaimNodeID(""), ErrInvalidOp)
	s.Close()
	s = mustOpen(t, cfg)
	if id, _ := s.NodeID(); id != "n1" {
		t.Fatalf("node id after reopen %q", id)
	}
	wantErr(t, s.ClaimNodeID("n2"), ErrNodeIDMismatch)
}

func TestInMemory(t *testing.T) {
	s := mustOpen(t, memConfig())
	mustApply(t, s, 1, []Op{PutSessionOp(sess("c"))})
	if _, err := s.Session("c"); err != nil {
		t.Fatal(err)
	}
}
