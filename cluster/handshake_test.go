package cluster

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

var (
	secretA = []byte("cluster-A-secret-0123456789abcdef0123456789")
	secretB = []byte("cluster-B-secret-0123456789abcdef0123456789")
)

// tcpPair returns the two ends of a real loopback TCP connection.
func tcpPair(t testing.TB) (dialled, accepted net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- nil
			return
		}
		ch <- c
	}()
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-ch
	if a == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { _ = d.Close(); _ = a.Close() })
	return d, a
}

// testAuth is an authenticator with secret and timeout that logs through t.
func testAuth(t testing.TB, secret []byte, timeout time.Duration) *authenticator {
	return &authenticator{secret: secret, timeout: timeout, log: testLogger(t)}
}

// runHandshake runs a dialler with dsecret against an acceptor with asecret
// over real TCP and returns both results.
func runHandshake(t *testing.T, dsecret, asecret []byte, kind byte) (dialErr error, gotKind byte, acceptErr error) {
	t.Helper()
	d, a := tcpPair(t)
	da, aa := testAuth(t, dsecret, 2*time.Second), testAuth(t, asecret, 2*time.Second)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		gotKind, acceptErr = aa.accept(a)
		if acceptErr != nil {
			_ = a.Close()
		}
	}()
	dialErr = da.dial(d, kind, 2*time.Second)
	if dialErr != nil {
		_ = d.Close()
	}
	wg.Wait()
	return dialErr, gotKind, acceptErr
}

func TestHandshakeSameSecret(t *testing.T) {
	for _, kind := range []byte{connRaft, connRPC, ConnLink, connHello} {
		dialErr, got, acceptErr := runHandshake(t, secretA, secretA, kind)
		if dialErr != nil || acceptErr != nil {
			t.Fatalf("kind %c: dial %v, accept %v", kind, dialErr, acceptErr)
		}
		if got != kind {
			t.Fatalf("acceptor got kind %c, want %c", got, kind)
		}
	}
}

// TestHandshakeWrongSecret: each side refuses a peer with another secret;
// the dialler before it sent anything but its nonce.
func TestHandshakeWrongSecret(t *testing.T) {
	dialErr, _, acceptErr := runHandshake(t, secretA, secretB, connRPC)
	if reasonOf(dialErr) != ReasonBadProof || !isBadProof(dialErr) {
		t.Fatalf("dial with another secret = %v, want bad proof", dialErr)
	}
	if acceptErr == nil {
		t.Fatal("acceptor accepted a dialler with another secret")
	}
}

// TestHandshakeNoSecretDialler: a dialler that only announces a kind (a node
// without a secret, or an old one) is refused by a node with a secret.
func TestHandshakeNoSecretDialler(t *testing.T) {
	d, a := tcpPair(t)
	aa := testAuth(t, secretA, time.Second)
	done := make(chan error, 1)
	go func() { _, err := aa.accept(a); done <- err }()
	// 'F' and a forwarded-write frame, as an attacker would send.
	// The frame's bytes are taken for the nonce and the proof.
	frame := appendFrame(nil, append([]byte{rpcApply, 1}, bytes.Repeat([]byte("set x evil "), 10)...))
	if _, err := d.Write(append([]byte{connRPC}, frame...)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; reasonOf(err) != ReasonBadProof {
		t.Fatalf("accept = %v, want bad proof", err)
	}
	if st := aa.stats(); st.InboundFailed[ReasonBadProof] != 1 || st.InboundOK != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestHandshakeTruncated: a dialler that stops in the middle of each message
// is refused (closed), never accepted.
func TestHandshakeTruncated(t *testing.T) {
	for _, n := range []int{0, 1, 10, 1 + nonceLen} {
		d, a := tcpPair(t)
		aa := testAuth(t, secretA, 2*time.Second)
		done := make(chan error, 1)
		go func() { _, err := aa.accept(a); done <- err }()
		hello := make([]byte, n)
		if n > 0 {
			hello[0] = connRaft
		}
		if _, err := d.Write(hello); err != nil {
			t.Fatal(err)
		}
		if n == 1+nonceLen {
			_, _ = io.ReadFull(d, make([]byte, nonceLen+macLen))
			_, _ = d.Write(make([]byte, macLen/2))
		}
		_ = d.Close()
		if err := <-done; reasonOf(err) != ReasonClosed {
			t.Fatalf("%d bytes then close: accept = %v, want %s", n, err, ReasonClosed)
		}
	}
}

// recConn records what is written to it.
type recConn struct {
	net.Conn
	mu  sync.Mutex
	out bytes.Buffer
}

func (c *recConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.out.Write(b)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// TestHandshakeReplay: the dialler's bytes of a successful exchange, sent
// again on a new connection, fail (the acceptor's nonce is fresh); the
// acceptor's answer replayed to a new dialler fails too; and an acceptor's
// proof reflected back to it as the dialler's proof fails.
func TestHandshakeReplay(t *testing.T) {
	d, a := tcpPair(t)
	rd, ra := &recConn{Conn: d}, &recConn{Conn: a}
	da, aa := testAuth(t, secretA, 2*time.Second), testAuth(t, secretA, 2*time.Second)
	done := make(chan error, 1)
	go func() { _, err := aa.accept(ra); done <- err }()
	if err := da.dial(rd, connRPC, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	clientBytes, serverBytes := rd.out.Bytes(), ra.out.Bytes()
	if len(clientBytes) != 1+nonceLen+macLen || len(serverBytes) != nonceLen+macLen {
		t.Fatalf("captured %d and %d bytes", len(clientBytes), len(serverBytes))
	}

	// The dialler's bytes replayed to an acceptor.
	d2, a2 := tcpPair(t)
	go func() { _, err := aa.accept(a2); done <- err }()
	if _, err := d2.Write(clientBytes[:1+nonceLen]); err != nil {
		t.Fatal(err)
	}
	fresh := make([]byte, nonceLen+macLen)
	if _, err := io.ReadFull(d2, fresh); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(fresh[:nonceLen], serverBytes[:nonceLen]) {
		t.Fatal("acceptor reused its nonce")
	}
	if _, err := d2.Write(clientBytes[1+nonceLen:]); err != nil {
		t.Fatal(err)
	}
	if err := <-done; reasonOf(err) != ReasonBadProof {
		t.Fatalf("replayed dialler: accept = %v, want bad proof", err)
	}

	// The acceptor's answer replayed to a new dialler.
	d3, a3 := tcpPair(t)
	go func() {
		_, _ = io.ReadFull(a3, make([]byte, 1+nonceLen))
		_, _ = a3.Write(serverBytes)
	}()
	if err := da.dial(d3, connRPC, 2*time.Second); reasonOf(err) != ReasonBadProof {
		t.Fatalf("replayed acceptor: dial = %v, want bad proof", err)
	}

	// Reflection: the acceptor's own proof sent back as the dialler's.
	d4, a4 := tcpPair(t)
	go func() { _, err := aa.accept(a4); done <- err }()
	if _, err := d4.Write(append([]byte{connRPC}, bytes.Repeat([]byte{7}, nonceLen)...)); err != nil {
		t.Fatal(err)
	}
	answer := make([]byte, nonceLen+macLen)
	if _, err := io.ReadFull(d4, answer); err != nil {
		t.Fatal(err)
	}
	if _, err := d4.Write(answer[nonceLen:]); err != nil {
		t.Fatal(err)
	}
	if err := <-done; reasonOf(err) != ReasonBadProof {
		t.Fatalf("reflected proof: accept = %v, want bad proof", err)
	}
}

// countingLimits counts LimitRefused calls.
type countingLimits struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingLimits) LimitRefused(limit string) {
	c.mu.Lock()
	c.n[limit]++
	c.mu.Unlock()
}

// TestHandshakeSlowPeer: a peer that says nothing (acceptor side) or never
// answers (dialler side) is dropped after the handshake timeout, counted as
// a timeout and as a refusal by cluster.handshake_timeout.
func TestHandshakeSlowPeer(t *testing.T) {
	const timeout = 200 * time.Millisecond
	lim := &countingLimits{n: map[string]int{}}
	var o LimitObserver = lim

	_, a := tcpPair(t)
	aa := testAuth(t, secretA, timeout)
	aa.limits.Store(&o)
	start := time.Now()
	if _, err := aa.accept(a); reasonOf(err) != ReasonTimeout {
		t.Fatalf("silent dialler: accept = %v, want timeout", err)
	}
	if el := time.Since(start); el < timeout || el > 10*timeout {
		t.Fatalf("accept gave up after %s, timeout %s", el, timeout)
	}

	d, _ := tcpPair(t)
	da := testAuth(t, secretA, timeout)
	da.limits.Store(&o)
	if err := da.dial(d, connRaft, time.Minute); reasonOf(err) != ReasonTimeout {
		t.Fatalf("silent acceptor: dial = %v, want timeout", err)
	}
	if aa.stats().InboundFailed[ReasonTimeout] != 1 || da.stats().OutboundFailed[ReasonTimeout] != 1 {
		t.Fatalf("stats %+v %+v", aa.stats(), da.stats())
	}
	if lim.n[limitHandshakeTimeout] != 2 {
		t.Fatalf("limit refusals %v", lim.n)
	}
}

// TestHandshakeFailureLogRateLimited: a burst of failures logs one line,
// the next line reports the rest as suppressed, and the secret is in none.
func TestHandshakeFailureLogRateLimited(t *testing.T) {
	var buf bytes.Buffer // accept runs in this goroutine
	aa := &authenticator{secret: secretA, timeout: time.Second, log: zerolog.New(&buf)}
	for range 20 {
		d, a := tcpPair(t)
		_ = d.Close()
		_, _ = aa.accept(a)
	}
	lines := bytes.Count(buf.Bytes(), []byte("\n"))
	if lines != 1 {
		t.Fatalf("%d log lines for a burst of 20 failures:\n%s", lines, buf.Bytes())
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"remote":"127.0.0.1:`)) || !bytes.Contains(buf.Bytes(), []byte(`"level":"warn"`)) {
		t.Fatalf("log line lacks the remote address or level: %s", buf.Bytes())
	}
	aa.logMu.Lock()
	aa.lastLog = time.Now().Add(-2 * authLogEvery)
	aa.logMu.Unlock()
	d, a := tcpPair(t)
	_ = d.Close()
	_, _ = aa.accept(a)
	if !bytes.Contains(buf.Bytes(), []byte(`"suppressed":19`)) {
		t.Fatalf("second line does not report 19 suppressed:\n%s", buf.Bytes())
	}
	if bytes.Contains(buf.Bytes(), secretA) {
		t.Fatal("the secret was logged")
	}
}

// FuzzHandshake feeds arbitrary dialler bytes to the acceptor: it must never
// panic and never accept (nobody can guess a proof), whole or in chunks.
func FuzzHandshake(f *testing.F) {
	f.Add([]byte{connRaft})
	f.Add(append([]byte{connRPC}, bytes.Repeat([]byte{1}, nonceLen+macLen)...))
	f.Add(append([]byte{'R'}, []byte("garbage that is not a handshake at all, long enough to cover the nonce and the mac")...))
	f.Add(appendFrame([]byte{connRPC}, []byte{rpcApply, 1, 's', 'e', 't'}))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, a := net.Pipe()
		defer d.Close()
		defer a.Close()
		go func() {
			for i := 0; i < len(in); i += 7 { // in chunks
				if _, err := d.Write(in[i:min(i+7, len(in))]); err != nil {
					return
				}
			}
			_ = d.Close()
		}()
		go func() { _, _ = io.Copy(io.Discard, d) }()
		aa := &authenticator{secret: secretA, timeout: time.Second, log: zerolog.Nop()}
		if kind, err := aa.accept(a); err == nil {
			t.Fatalf("accepted kind %c from %x", kind, in)
		} else if r := reasonOf(err); r == ReasonIO {
			var he *handshakeError
			if !errors.As(err, &he) {
				t.Fatalf("error %v is not a handshake error", err)
			}
		}
	})
}
