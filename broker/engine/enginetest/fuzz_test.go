package enginetest

import (
	"errors"
	"net"
	"testing"
)

// TestRunSessionDetectsStuckBroker: the driver must report ErrStuck when
// the listener accepts but never answers CONNECT (a broker with a stuck
// session looks like that to the next client).
func TestRunSessionDetectsStuckBroker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() { // owned: ends when ln is closed
		defer close(done)
		var conns []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					_ = c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	dial := func() (net.Conn, error) { return net.Dial("tcp", ln.Addr().String()) }
	err = RunSession(dial, Seeds()[0])
	if !errors.Is(err, ErrStuck) {
		t.Fatalf("RunSession against a silent listener = %v, want ErrStuck", err)
	}
	_ = ln.Close()
	<-done
}

// TestBuildOpNeverPanics walks every opcode with short and long arguments.
func TestBuildOpNeverPanics(t *testing.T) {
	for op := range byte(opCount) {
		for _, tail := range [][]byte{nil, {0xff}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
			for _, v := range []byte{4, 5} {
				in := &fuzzInput{b: append([]byte{op}, tail...)}
				_, _ = buildOp(in, v, "id", "p/")
			}
		}
	}
}
