//go:build linux

package transport

import (
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/listen"
)

// highestFD returns the highest open descriptor number of this process.
func highestFD(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	hi := 0
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > hi {
			hi = n
		}
	}
	return hi
}

// TestAcceptSurvivesFDExhaustion runs the process out of descriptors (a
// lowered RLIMIT_NOFILE, filled up) so that accept fails with EMFILE while a
// client waits in the backlog: the loop reports the error, backs off (no
// spin: 6 errors take at least 5+10+20+40+80 ms) and accepts nothing; once
// descriptors are free it accepts the waiting client and a new one completes
// CONNECT/CONNACK. RLIMIT_NOFILE is process-wide: no test of this package
// runs in parallel.
func TestAcceptSurvivesFDExhaustion(t *testing.T) {
	obs := newCountObs()
	h := newEcho(t)
	s := newTestServerObs(t, testConfig(), h, listen.DefaultLimits(), obs)
	first := dial(t, s, "tcp")
	mustWrite(t, first, connectPacket(4, 0, "before"))
	readN(t, first, 4)

	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := old
	low.Cur = uint64(highestFD(t) + 32)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var fillers []*os.File
	release := func(n int) {
		for ; n > 0 && len(fillers) > 0; n-- {
			_ = fillers[len(fillers)-1].Close()
			fillers = fillers[:len(fillers)-1]
		}
	}
	restored := false
	restore := func() {
		release(len(fillers))
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
				t.Errorf("restore RLIMIT_NOFILE: %v", err)
			}
		}
	}
	t.Cleanup(restore)
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatalf("filling descriptors: %v", err)
			}
			break
		}
		fillers = append(fillers, f)
		if len(fillers) > 10000 {
			t.Fatal("RLIMIT_NOFILE did not bite")
		}
	}

	// One descriptor for the client's socket; the server's accept has none.
	release(1)
	start := time.Now()
	waiting, err := net.Dial("tcp", s.Addr("tcp").String())
	if err != nil {
		t.Fatalf("dial with one free descriptor: %v", err)
	}
	t.Cleanup(func() { _ = waiting.Close() })
	waitFor(t, "6 accept errors", func() bool { n, _ := obs.acceptErrors(); return n >= 6 })
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("6 accept errors within %v: the loop does not back off", el)
	}
	if _, err := obs.acceptErrors(); !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("accept error %v, want EMFILE", err)
	}
	if n := obs.acceptedOn("tcp"); n != 1 {
		t.Fatalf("accepted %d while out of descriptors, want 1", n)
	}

	// Descriptors back (still under the lowered limit): the waiting client is
	// accepted on a retry (at most 1 s later) and served.
	release(16)
	waitFor(t, "the waiting client accepted", func() bool { return obs.acceptedOn("tcp") == 2 })
	mustWrite(t, waiting, connectPacket(5, 0, "waited"))
	if got := readN(t, waiting, 5); got[0] != 0x20 || got[3] != 0 {
		t.Fatalf("connack % x", got)
	}
	restore()
	after := dial(t, s, "tcp")
	mustWrite(t, after, connectPacket(4, 0, "after"))
	if got := readN(t, after, 4); got[0] != 0x20 {
		t.Fatalf("connack % x", got)
	}
}
