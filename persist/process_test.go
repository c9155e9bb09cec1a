package persist

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// The tests here run a second process: the test binary itself, re-executed with
// -test.run=TestHelperProcess and PERSIST_HELPER set to a mode.

const helperEnv = "PERSIST_HELPER"

// TestHelperProcess is not a test: it is the body of the helper process.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return // run as part of the normal test suite: nothing to do
	}
	cfg := DefaultConfig()
	cfg.Dir = os.Getenv("PERSIST_DIR")
	cfg.MemTableSize = minMemTableSize
	cfg.BlockCacheSize = minBlockCacheSize
	cfg.ValueLogFileSize = minValueLogFileSize
	cfg.ValueLogGCInterval = 0
	cfg.MinFreeBytes, _ = strconv.ParseInt(os.Getenv("PERSIST_MIN_FREE"), 10, 64)
	if mode == "diskfull-run" {
		os.Exit(runDiskFull(cfg))
	}
	os.Exit(runHelper(mode, cfg))
}

func runHelper(mode string, cfg Config) int {
	s, err := Open(cfg, nopLogger())
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		if errors.Is(err, ErrLocked) {
			return 3
		}
		return 2
	}
	switch mode {
	case "hold":
		// Hold the store until stdin closes.
		fmt.Println("ready")
		_, _ = io.Copy(io.Discard, os.Stdin)
	case "apply":
		// Apply entries forever, reporting each applied index, until killed.
		fmt.Println("ready")
		for i := s.AppliedIndex() + 1; ; i++ {
			if _, err := s.Apply(i, [][]Op{{EnqueueOp("c", msg("t", strconv.FormatUint(i, 10)))}}); err != nil {
				fmt.Printf("apply-error %v\n", err)
				return 4
			}
			fmt.Printf("applied %d\n", i)
		}
	}
	if err := s.Close(); err != nil {
		fmt.Printf("close-error %v\n", err)
		return 5
	}
	return 0
}

func nopLogger() zerolog.Logger { return zerolog.Nop() }

// helper starts the helper process in mode on dir.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan error
}

func startHelper(t *testing.T, mode, dir string, env ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "PERSIST_DIR="+dir)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, stdin: stdin, lines: make(chan string, 1024), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
		h.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for range h.lines {
		}
	})
	return h
}

// expect reads lines until one starts with prefix.
func (h *helper) expect(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-h.lines:
			if !ok {
				t.Fatalf("helper exited before %q", prefix)
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %q", prefix)
		}
	}
}

func (h *helper) exitCode(t *testing.T) int {
	t.Helper()
	for range h.lines {
	}
	err := <-h.done
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func TestLockAcrossProcesses(t *testing.T) {
	cfg := testConfig(t)
	// Another process holds the store: this one is refused.
	h := startHelper(t, "hold", cfg.Dir)
	h.expect(t, "ready")
	_, err := Open(cfg, testLogger(t))
	wantErr(t, err, ErrLocked)
	if !strings.Contains(err.Error(), cfg.Dir) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", h.cmd.Process.Pid)) {
		t.Fatalf("lock error should name the dir and the holder's pid: %v", err)
	}
	h.stdin.Close()
	if code := h.exitCode(t); code != 0 {
		t.Fatalf("holder exit %d", code)
	}
	// This process holds it: the other one is refused.
	s := mustOpen(t, cfg)
	h2 := startHelper(t, "hold", cfg.Dir)
	if line := h2.expect(t, "open-error"); !strings.Contains(line, "locked") {
		t.Fatalf("second process: %s", line)
	}
	if code := h2.exitCode(t); code != 3 {
		t.Fatalf("second process exit %d, want 3 (ErrLocked)", code)
	}
	s.Close()
}

// TestKillDuringApply: a process killed with SIGKILL in the middle of applying
// loses nothing it reported applied (SyncWrites off: the page cache survives a
// process crash), the lock is released by the kernel, and the store reopens with
// a consistent applied index: exactly the entries up to it are present.
func TestKillDuringApply(t *testing.T) {
	cfg := testConfig(t)
	h := startHelper(t, "apply", cfg.Dir)
	h.expect(t, "ready")
	var last uint64
	for last < 300 {
		line := h.expect(t, "applied ")
		last, _ = strconv.ParseUint(strings.TrimPrefix(line, "applied "), 10, 64)
	}
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	h.exitCode(t)
	s := mustOpen(t, cfg)
	applied := s.AppliedIndex()
	if applied < last {
		t.Fatalf("applied index %d after kill, but %d was reported applied", applied, last)
	}
	q, err := s.Queue("c", 0, 0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(q)) != applied {
		t.Fatalf("%d queued for applied index %d", len(q), applied)
	}
	for i, m := range q {
		if m.Seq != uint64(i+1) || string(m.Message.Payload) != strconv.Itoa(i+1) {
			t.Fatalf("entry %d: seq %d payload %s", i, m.Seq, m.Message.Payload)
		}
	}
	mustApply(t, s, applied+1, []Op{EnqueueOp("c", msg("t", "next"))})
}
