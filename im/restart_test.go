package im

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"
)

// TestRestart: closing and reopening store and node on the same directory keeps
// seqs gap-free, dedup working, groups and cursors.
func TestRestart(t *testing.T) {
	h := newHarness(t)
	var acks []ackMsg
	for i := 1; i <= 3; i++ {
		acks = append(acks, h.send("alice", "bob", fmt.Sprint(i), "m"))
	}
	g := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"bob"}}, CodeSuccess)["group"].(string)
	h.handle(dev("bob", "b1"), req("im/receipt/d:alice:bob", `{"type":"read","seq":2}`), CodeSuccess)

	h.clock.advance(time.Second) // a restart takes time: ids stay increasing
	h.restart()

	again := h.send("alice", "bob", "2", "m")
	if !again.Dup || again.ID != acks[1].ID || again.Seq != 2 {
		t.Fatalf("resend after restart %+v, original %+v", again, acks[1])
	}
	if a := h.send("alice", "bob", "4", "m"); a.Seq != 4 || a.Dup || a.ID <= acks[2].ID {
		t.Fatalf("new message after restart %+v", a)
	}
	if a := h.sendGroup("bob", g, "x", "y"); a.Seq != 2 {
		t.Fatalf("group after restart %+v", a)
	}
	if c := convByID(t, h, "bob", "d:alice:bob"); num(c, "read") != 2 || num(c, "unread") != 2 {
		t.Fatalf("cursors after restart %v", c)
	}
	m := h.rpc("bob", MethodHistory, map[string]any{"conv": "d:alice:bob"}, CodeSuccess)
	if got := seqs(msgsOf(t, m["messages"])); fmt.Sprint(got) != "[1 2 3 4]" {
		t.Fatalf("history after restart %v", got)
	}
}

// TestConcurrentSenders: many devices sending to one conversation at once get
// distinct, gap-free seqs; re-sends among them do not take a seq.
func TestConcurrentSenders(t *testing.T) {
	h := newHarness(t)
	g := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"bob", "carol", "dave"}}, CodeSuccess)["group"].(string)
	users := []string{"alice", "bob", "carol", "dave"}
	const per = 30
	bySeq := map[uint64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, len(users)*2)
	for _, u := range users {
		for d := 0; d < 2; d++ { // two devices per user, re-sending each other's cids
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < per; i++ {
					cid := fmt.Sprintf("%s-%d", u, i)
					out := h.svc.Handle(bg(), dev(u, fmt.Sprint(u, d)), req(groupTopic(g), sendBody(cid, "x")))
					if !out.OK() {
						errs <- fmt.Errorf("%s: %+v", cid, out)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Every cid is stored exactly once, seqs 2..(1 + users*per) without gaps.
	last, err := h.svc.lastSeq("g:" + g)
	check(t, err)
	if last != uint64(1+len(users)*per) {
		t.Fatalf("last seq %d, want %d", last, 1+len(users)*per)
	}
	for seq := uint64(2); seq <= last; seq++ {
		v, err := h.store.GetRaw(msgKey("g:"+g, seq))
		check(t, err)
		e, err := DecodeEnvelope(v)
		check(t, err)
		if prev, ok := bySeq[seq]; ok {
			t.Fatalf("seq %d twice: %s, %s", seq, prev, e.CID)
		}
		bySeq[seq] = e.From + "/" + e.CID
	}
	cids := map[string]bool{}
	for _, v := range bySeq {
		if cids[v] {
			t.Fatalf("cid %s stored twice", v)
		}
		cids[v] = true
	}
	if len(cids) != len(users)*per {
		t.Fatalf("%d distinct cids", len(cids))
	}
	// Acks: each device got one per send, all ok, the two devices of a user the
	// same seq for the same cid.
	acks := map[string]map[string]uint64{}
	for _, u := range users {
		acks[u] = map[string]uint64{}
		for _, d := range h.rec.on(userTopic(u, leafAck)) {
			a := decodeAck(t, d.Payload)
			if !a.OK {
				t.Fatalf("ack %+v", a)
			}
			if s, ok := acks[u][a.CID]; ok && s != a.Seq {
				t.Fatalf("%s %s acked with seqs %d and %d", u, a.CID, s, a.Seq)
			}
			acks[u][a.CID] = a.Seq
		}
	}
	var all []int
	for _, u := range users {
		for _, s := range acks[u] {
			all = append(all, int(s))
		}
	}
	sort.Ints(all)
	for i, s := range all {
		if s != i+2 {
			t.Fatalf("acked seqs not gap-free at %d: %v", i, all[:i+1])
		}
	}
}

// TestClose: Close is idempotent, waits for the sweeper, and later calls are
// refused.
func TestClose(t *testing.T) {
	before := runtime.NumGoroutine()
	h := newHarness(t, func(c *Config, _ *Options) { c.SweepInterval = time.Second })
	h.send("alice", "bob", "1", "x")
	check(t, h.svc.Close())
	check(t, h.svc.Close())
	if out := h.svc.Handle(bg(), dev("alice", "a"), req(sendTopic("bob"), sendBody("2", "x"))); out.Code != CodeUnspecified || out.Reason != ErrClosed.Error() {
		t.Fatalf("after close %+v", out)
	}
	if err := h.svc.Connected(dev("alice", "a")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Connected after close: %v", err)
	}
	h.close()
	eventually(t, 10*time.Second, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}
