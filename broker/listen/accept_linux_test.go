//go:build linux

package listen

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.golang/paho"
)

// maxOpenFD returns the highest open descriptor number of this process.
func maxOpenFD(t *testing.T) int {
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

// TestAcceptSurvivesFDExhaustion runs the process out of file descriptors for
// real (a lowered RLIMIT_NOFILE, filled up), makes Accept fail with EMFILE, then
// frees descriptors and shows the same listener accepting an MQTT client that
// completes a round trip. RLIMIT_NOFILE is process-wide: this test must not run
// in parallel with others (none in this package do).
func TestAcceptSurvivesFDExhaustion(t *testing.T) {
	lim := testLimits()
	lim.ConnectTimeout = time.Minute // the held connections stay open
	b := newTestBroker(t, lim, []Config{tcpConfig()}, nil)
	addr := b.addr("tcp")

	// Some real connections, accepted before the limit bites.
	for range 5 {
		mustDial(t, KindTCP, addr, nil)
	}
	eventually(t, 10*time.Second, "5 accepted", func() bool { return b.obs.acceptedFor("tcp") == 5 })

	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := old
	low.Cur = uint64(maxOpenFD(t) + 64)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
				t.Errorf("restore RLIMIT_NOFILE: %v", err)
			}
		}
	}
	t.Cleanup(restore)

	// Fill every descriptor left.
	var fillers []*os.File
	closeFillers := func(n int) {
		for ; n > 0 && len(fillers) > 0; n-- {
			_ = fillers[len(fillers)-1].Close()
			fillers = fillers[:len(fillers)-1]
		}
	}
	t.Cleanup(func() { closeFillers(len(fillers)) })
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

	// One descriptor for the client's socket: the kernel completes the TCP
	// handshake, and the server's Accept has no descriptor left for it.
	closeFillers(1)
	pending, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial with one free descriptor: %v", err)
	}
	t.Cleanup(func() { _ = pending.Close() })
	eventually(t, 10*time.Second, "accept errors reported", func() bool {
		n, _ := b.obs.acceptErrors()
		return n >= 2 // failed and retried
	})
	if _, lastErr := b.obs.acceptErrors(); !errors.Is(lastErr, syscall.EMFILE) {
		t.Fatalf("accept error %v, want EMFILE", lastErr)
	}
	if n := b.obs.acceptedFor("tcp"); n != 5 {
		t.Fatalf("accepted %d while out of descriptors, want 5", n)
	}

	// Free some descriptors, still under the lowered limit: the pending connection
	// is accepted on the next retry and a new client completes an MQTT exchange.
	closeFillers(16)
	eventually(t, 10*time.Second, "pending connection accepted", func() bool { return b.obs.acceptedFor("tcp") == 6 })
	msgs := make(chan received, 1)
	cli := v5Client(t, mustDial(t, KindTCP, addr, nil), "after-emfile", msgs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "fd/back", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Publish(ctx, &paho.Publish{Topic: "fd/back", QoS: 1, Payload: []byte("ok")}); err != nil {
		t.Fatal(err)
	}
	expectMessages(t, msgs, map[string]received{"fd/back": {"fd/back", "ok", 1}})
	closeFillers(len(fillers))
	restore()
}
