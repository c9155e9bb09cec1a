//go:build linux

package persist

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDiskFullTmpfs fills a real (tmpfs) file system under a store: in a helper
// process with its own mount namespace (root only), Apply runs until it is refused
// with ErrDiskFull, then space is freed and the next Apply succeeds without a
// reopen, and a reopen finds exactly the acknowledged entries. Without the
// reserve Badger would die of SIGBUS here (its files are mmapped), which the
// helper's exit status would show.
func TestDiskFullTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root for a private mount namespace and tmpfs (CI and the dev machines run as root)")
	}
	// The reserve must cover Badger's background work after the refusal (memtable
	// flushes and compactions write new tables): with 16 MiB a compaction ran
	// the 64 MiB tmpfs dry and died of SIGBUS in one CI run; 32 MiB leaves room.
	// Apply refuses at half of min_free_bytes (the proposers' line is the full
	// value, see Store.applyReserve), so min_free_bytes is 64 MiB here.
	// Small values live in the LSM tree (write-ahead log, tables); values of
	// 64 KiB and more go to the value log: both paths are filled.
	for _, size := range []int{1 << 10, 16 << 10, 100 << 10} {
		t.Run(fmt.Sprintf("payload %d", size), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v=false")
			cmd.Env = append(os.Environ(), helperEnv+"=diskfull", "PERSIST_DIR="+dir,
				fmt.Sprintf("PERSIST_MIN_FREE=%d", 64<<20), fmt.Sprintf("PERSIST_PAYLOAD=%d", size))
			// A private mount namespace: the tmpfs vanishes with the helper.
			cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
			out, err := cmd.CombinedOutput()
			t.Logf("helper output:\n%s", out)
			if err != nil {
				t.Fatalf("helper: %v", err)
			}
			if !strings.Contains(string(out), "diskfull-ok") {
				t.Fatal("helper did not finish")
			}
		})
	}
}

func init() {
	if os.Getenv(helperEnv) == "diskfull" {
		// Mount before TestHelperProcess opens the store.
		dir := os.Getenv("PERSIST_DIR")
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=96m"); err != nil {
			fmt.Printf("mount: %v\n", err)
			os.Exit(10)
		}
		os.Setenv(helperEnv, "diskfull-run")
	}
}

// runDiskFull is the helper body for mode "diskfull-run".
func runDiskFull(cfg Config) int {
	fail := func(format string, args ...any) int {
		fmt.Printf("FAIL "+format+"\n", args...)
		return 20
	}
	// The store lives in a subdirectory; the filler sits next to it on the tmpfs.
	root := cfg.Dir
	cfg.Dir = filepath.Join(root, "store")
	fillerPath := filepath.Join(root, "filler")
	if err := os.WriteFile(fillerPath, make([]byte, 24<<20), 0o600); err != nil {
		return fail("filler: %v", err)
	}
	s, err := Open(cfg, nopLogger())
	if err != nil {
		return fail("open: %v", err)
	}
	// Incompressible payloads, each different: Badger compresses its tables.
	size, _ := strconv.Atoi(os.Getenv("PERSIST_PAYLOAD"))
	payload := make([]byte, size)
	_, _ = rand.Read(payload)
	// idx counts queued messages, entries the applied raft entries.
	const perEntry = 16
	var idx, entries uint64
	start := time.Now()
	for {
		batch := make([]Op, perEntry)
		for i := range batch {
			p := make([]byte, len(payload))
			_, _ = rand.Read(p)
			batch[i] = EnqueueOp("c", Message{Topic: "t", Payload: p, QoS: 1})
		}
		res, err := s.Apply(entries+1, [][]Op{batch})
		if errors.Is(err, ErrDiskFull) {
			fmt.Printf("refused after %d messages (%v): %v\n", idx, time.Since(start).Round(time.Millisecond), err)
			break
		}
		if err != nil {
			return fail("apply %d: %v", entries+1, err)
		}
		if res[0][perEntry-1].Seq != idx+perEntry {
			return fail("seq %d", res[0][perEntry-1].Seq)
		}
		idx += perEntry
		entries++
		if idx > 1_000_000 {
			return fail("never refused")
		}
	}
	if s.AppliedIndex() != entries {
		return fail("applied index %d after refusal, want %d", s.AppliedIndex(), entries)
	}
	if n, _, err := s.QueueLen("c"); err != nil || uint64(n) != idx {
		return fail("queue len %d (%v), want %d", n, err, idx)
	}
	// Free space: the next write succeeds on the same Store.
	if err := os.Remove(fillerPath); err != nil {
		return fail("remove filler: %v", err)
	}
	if _, err := s.Apply(entries+1, [][]Op{{EnqueueOp("c", Message{Topic: "t", Payload: payload})}}); err != nil {
		return fail("apply after freeing space: %v", err)
	}
	idx++
	entries++
	if err := s.Close(); err != nil {
		return fail("close: %v", err)
	}
	s, err = Open(cfg, nopLogger())
	if err != nil {
		return fail("reopen: %v", err)
	}
	defer s.Close()
	if s.AppliedIndex() != entries {
		return fail("applied index after reopen %d, want %d", s.AppliedIndex(), entries)
	}
	if n, _, _ := s.QueueLen("c"); uint64(n) != idx {
		return fail("queue len after reopen %d, want %d", n, idx)
	}
	fmt.Printf("diskfull-ok messages=%d entries=%d\n", idx, entries)
	return 0
}
