package cluster

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// readToClose reads c until the peer closes it (or 10 s pass) and returns
// what it got.
func readToClose(t *testing.T, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the node did not close the connection (got %d bytes)", len(b))
	}
	return b
}

// TestClusterPortRefusesUnauthenticated: raw TCP clients on a node's cluster
// port — a forwarded write ('F' and an rpcApply frame), raft garbage ('R'),
// a short message that never completes — are closed without anything being
// applied or answered but the handshake challenge, and counted.
func TestClusterPortRefusesUnauthenticated(t *testing.T) {
	checkGoroutines(t)
	cfg := testConfig(t, t.TempDir(), LogStoreBadger)
	cfg.HandshakeTimeout = 300 * time.Millisecond
	kv := newMemKV()
	n := openNode(t, cfg, kv)
	mustApply(t, n, "before")
	before, _, _ := kv.state()

	evil := bytes.Repeat([]byte("set balance evil "), 8)
	attacks := map[string][]byte{
		"forwarded write": append([]byte{connRPC}, appendFrame(nil, append([]byte{rpcApply, 1}, evil...))...),
		"join":            append([]byte{connRPC}, appendFrame(nil, append([]byte{rpcJoin, 1}, appendStr(appendStr(nil, "rogue"), "127.0.0.1:1")...))...),
		"raft garbage":    append([]byte{connRaft}, bytes.Repeat([]byte{0xff, 0x00, 0x42}, 100)...),
		"short":           {connRPC, 3, rpcApply, 1},
	}
	for name, msg := range attacks {
		c, err := net.Dial("tcp", n.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := readToClose(t, c)
		_ = c.Close()
		// At most the challenge (nonce and proof) came back, never an answer.
		if len(got) > nonceLen+macLen {
			t.Fatalf("%s: the node answered %d bytes", name, len(got))
		}
	}
	after, _, _ := kv.state()
	if after.Seq != before.Seq {
		t.Fatalf("state changed by unauthenticated clients: seq %d -> %d", before.Seq, after.Seq)
	}
	if v := n.Status().Voters(); len(v) != 1 {
		t.Fatalf("voters %v", v)
	}
	hs := n.Status().Handshakes
	if hs.InboundFailed[ReasonBadProof] < 1 || hs.InboundFailed[ReasonTimeout] < 1 ||
		hs.InboundFailed[ReasonBadProof]+hs.InboundFailed[ReasonTimeout] != uint64(len(attacks)) {
		t.Fatalf("handshake counters %+v", hs)
	}
}

// TestJoinRequiresProof: three nodes of one secret and a rogue with another.
// The rogue cannot be added by address (on the leader or through a
// follower), cannot join through a member, and receives nothing; an
// unreachable address or a wrong id is refused too; the real nodes join.
func TestJoinRequiresProof(t *testing.T) {
	checkGoroutines(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m1 := newClusterMember(t, LogStoreBadger, "n1", true)
	m2 := newClusterMember(t, LogStoreBadger, "n2", false)
	m3 := newClusterMember(t, LogStoreBadger, "n3", false)
	rogueCfg := testConfig(t, t.TempDir(), LogStoreBadger)
	rogueCfg.NodeID, rogueCfg.Bootstrap, rogueCfg.Secret = "rogue", false, string(secretB)
	rogueKV := newMemKV()
	rogue := openNodeNoWait(t, rogueCfg, rogueKV)
	mustApply(t, m1.n, "secret-data")

	if err := m1.n.Join(ctx, "rogue", rogue.Addr()); !errors.Is(err, ErrPeerUnauthenticated) {
		t.Fatalf("Join(rogue) = %v, want ErrPeerUnauthenticated", err)
	}
	if err := m1.n.Join(ctx, "n9", "127.0.0.1:1"); !errors.Is(err, ErrPeerUnauthenticated) {
		t.Fatalf("Join(unreachable) = %v, want ErrPeerUnauthenticated", err)
	}
	if err := m1.n.Join(ctx, "not-n2", m2.n.Addr()); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Join(wrong id) = %v, want ErrInvalidConfig", err)
	}
	start := time.Now()
	if err := rogue.JoinVia(ctx, m1.n.Addr()); !errors.Is(err, ErrPeerUnauthenticated) {
		t.Fatalf("rogue JoinVia = %v, want ErrPeerUnauthenticated", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("rogue JoinVia took %s to give up", el)
	}
	if _, err := rogue.DialPeer(m1.n.Addr(), ConnLink); !errors.Is(err, ErrPeerUnauthenticated) {
		t.Fatalf("rogue DialPeer = %v, want ErrPeerUnauthenticated", err)
	}
	if v := m1.n.Status().Voters(); len(v) != 1 {
		t.Fatalf("voters after refused joins: %v", v)
	}

	if err := m2.n.JoinVia(ctx, m1.n.Addr()); err != nil {
		t.Fatal(err)
	}
	waitReady(t, m2.n)
	// Through a follower: m2 forwards to the leader, which probes.
	if err := m2.n.JoinForward(ctx, "rogue", rogue.Addr()); !errors.Is(err, ErrPeerUnauthenticated) {
		t.Fatalf("JoinForward(rogue) via a follower = %v, want ErrPeerUnauthenticated", err)
	}
	if err := m3.n.JoinVia(ctx, m2.n.Addr()); err != nil {
		t.Fatal(err)
	}
	waitReady(t, m3.n)
	mustApply(t, m1.n, "more")
	waitApplied(t, m3, []string{"secret-data", "more"})
	if v := m1.n.Status().Voters(); len(v) != 3 {
		t.Fatalf("voters %v, want n1 n2 n3", v)
	}
	if st, calls, _ := rogueKV.state(); st.Seq != 0 || calls != 0 {
		t.Fatalf("the rogue applied %d entries", calls)
	}
	if hs := rogue.HandshakeStats(); hs.OutboundFailed[ReasonBadProof] == 0 {
		t.Fatalf("rogue handshake counters %+v", hs)
	}
}
