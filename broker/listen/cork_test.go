package listen

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestCorkHoldsWritesUntilUncork: writes made while corked reach the peer only
// at Uncork, all of them, in order, in one segment; writes after Uncork go
// straight through; Close flushes what is still held.
func TestCorkHoldsWritesUntilUncork(t *testing.T) {
	server := make(chan *conn, 1)
	done := make(chan struct{})
	l, _ := startRawListener(t, testLimits(), func(c net.Conn) error {
		// The CONNECT must pass the listener's first-packet check.
		if _, err := io.ReadFull(c, make([]byte, len(connectV5("cork")))); err != nil {
			return err
		}
		server <- c.(*conn)
		<-done
		return nil
	})
	defer close(done)
	cl := mustDial(t, KindTCP, l.Address(), nil)
	if _, err := cl.Write(connectV5("cork")); err != nil {
		t.Fatal(err)
	}
	var sc *conn
	select {
	case sc = <-server:
	case <-time.After(10 * time.Second):
		t.Fatal("no server conn")
	}

	readNow := func(want int) []byte {
		t.Helper()
		_ = cl.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, want)
		if _, err := io.ReadFull(cl, buf); err != nil {
			t.Fatalf("read %d bytes: %v", want, err)
		}
		return buf
	}
	nothingYet := func() {
		t.Helper()
		_ = cl.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		var b [1]byte
		if n, err := cl.Read(b[:]); n != 0 || !isTimeout(err) {
			t.Fatalf("read while corked: %d bytes, %v; want nothing", n, err)
		}
	}

	sc.Cork()
	if !sc.Corked() {
		t.Fatal("Corked after Cork = false")
	}
	for _, p := range []string{"one", "two", "three"} {
		if n, err := sc.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("corked write %q: %d, %v", p, n, err)
		}
	}
	nothingYet()
	sc.Uncork()
	sc.Uncork() // idempotent
	if sc.Corked() {
		t.Fatal("Corked after Uncork = true")
	}
	if got := readNow(len("onetwothree")); !bytes.Equal(got, []byte("onetwothree")) {
		t.Fatalf("after Uncork: %q", got)
	}
	if _, err := sc.Write([]byte("four")); err != nil {
		t.Fatal(err)
	}
	if got := readNow(4); string(got) != "four" {
		t.Fatalf("uncorked write: %q", got)
	}

	// A corked connection does not hold more than maxHeld: the write that
	// would pass it goes out with what was held.
	sc.Cork()
	small := bytes.Repeat([]byte("a"), 100)
	big := bytes.Repeat([]byte("b"), maxHeld)
	for _, p := range [][]byte{small, big} {
		if _, err := sc.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if got := readNow(len(small) + len(big)); !bytes.Equal(got, append(append([]byte(nil), small...), big...)) {
		t.Fatal("a write past maxHeld did not flush the held bytes and itself, in order")
	}
	sc.Uncork()

	sc.Cork()
	if _, err := sc.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	nothingYet()
	_ = sc.Close()
	_ = cl.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, _ := io.ReadAll(cl)
	if string(rest) != "bye" {
		t.Fatalf("held at Close: peer got %q, want %q", rest, "bye")
	}
}
