package imqtt_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/imqtt/imqtt/internal/testkit"
	"github.com/imqtt/imqtt/sdk/go/imqtt"
)

// countCID returns how many messages of conv's history carry cid.
func countCID(t *testing.T, c *imqtt.Client, conv, cid string) int {
	t.Helper()
	h, err := c.History(ctx(t), conv, imqtt.HistoryOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range h.Messages {
		if m.CID == cid {
			n++
		}
	}
	return n
}

// TestOutboxResendAfterKill: the broker is killed (SIGKILL) while alice
// sends; the send stays in the outbox, is re-sent with the same cid after
// the broker restarts on the same data dir, the ack reaches Send, and the
// history holds exactly one copy.
func TestOutboxResendAfterKill(t *testing.T) {
	d := startNode(t)
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			var ra recorder
			alice := connect(t, ra.config(baseConfig(d, "alice", proto)))
			type result struct {
				ack imqtt.Ack
				err error
			}
			res := make(chan result, 1)
			go func() {
				a, err := alice.Send(ctx(t), imqtt.User("bob"), "through a crash", imqtt.SendOptions{})
				res <- result{a, err}
			}()
			d.Kill() // mid-send: before, during or after the server stored it
			d.Restart()
			var r result
			select {
			case r = <-res:
			case <-time.After(30 * time.Second):
				t.Fatal("no ack 30 s after the restart")
			}
			if r.err != nil {
				t.Fatal(r.err)
			}
			if out, _ := alice.Outbox(); len(out) != 0 {
				t.Fatalf("outbox after the ack: %+v", out)
			}
			if n := countCID(t, alice, direct("alice", "bob"), r.ack.CID); n != 1 {
				t.Fatalf("%d stored copies of cid %s, want 1", n, r.ack.CID)
			}
			testkit.Eventually(t, 10*time.Second, "reconnecting then connected events", func() bool {
				ra.mu.Lock()
				defer ra.mu.Unlock()
				seen := map[imqtt.ConnState]bool{}
				for _, c := range ra.conns {
					seen[c.State] = true
				}
				return seen[imqtt.StateReconnecting] && seen[imqtt.StateConnected]
			})
		})
	}
}

// TestFileStoreOutbox: a send made while the broker is down stays in the
// FileStore; a new Client on the same file (a restarted app) re-sends it,
// reports its ack to OnAck and empties the outbox. An entry re-sent once
// more is acked as a duplicate and stored once.
func TestFileStoreOutbox(t *testing.T) {
	d := startNode(t)
	path := filepath.Join(t.TempDir(), "alice.json")
	fs, err := imqtt.NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(d, "alice", 5)
	cfg.Store = fs
	first := connect(t, cfg)
	d.Kill()
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	a, err := first.Send(short, imqtt.User("bob"), "kept on disk", imqtt.SendOptions{})
	if !errors.Is(err, context.DeadlineExceeded) || a.CID == "" {
		t.Fatalf("send while down: %+v %v", a, err)
	}
	_ = first.Close()
	entries, _ := fs.ListOutbox()
	if len(entries) != 1 || entries[0].CID != a.CID {
		t.Fatalf("outbox after close: %+v", entries)
	}
	d.Restart()

	reopen := func() (*imqtt.Client, *recorder) {
		fs2, err := imqtt.NewFileStore(path)
		if err != nil {
			t.Fatal(err)
		}
		var r recorder
		cfg := r.config(baseConfig(d, "alice", 5))
		cfg.Store = fs2
		return connect(t, cfg), &r
	}
	waitAck := func(r *recorder) imqtt.Ack {
		var got imqtt.Ack
		testkit.Eventually(t, 10*time.Second, "the restored send's ack", func() bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, k := range r.acks {
				if k.CID == a.CID {
					got = k
					return true
				}
			}
			return false
		})
		return got
	}
	second, r2 := reopen()
	ack := waitAck(r2)
	if ack.Err != nil || ack.Seq < 1 {
		t.Fatalf("ack %+v", ack)
	}
	testkit.Eventually(t, 10*time.Second, "an empty outbox", func() bool {
		out, _ := second.Outbox()
		return len(out) == 0
	})
	_ = second.Close()

	// The app crashed before it could delete the entry: put it back.
	fs3, err := imqtt.NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs3.PutOutbox(entries[0]); err != nil {
		t.Fatal(err)
	}
	third, r3 := reopen()
	if dup := waitAck(r3); !dup.Dup || dup.Seq != ack.Seq {
		t.Fatalf("re-sent entry: ack %+v, want dup of seq %d", dup, ack.Seq)
	}
	if n := countCID(t, third, direct("alice", "bob"), a.CID); n != 1 {
		t.Fatalf("%d stored copies, want 1", n)
	}
}

// TestAutoSyncAfterReconnect: bob's device goes offline, alice sends five
// messages, bob's device comes back (same Store, same client id: its
// persistent session also delivers them live) and gets each exactly once,
// in seq order, after the messages it had.
func TestAutoSyncAfterReconnect(t *testing.T) {
	d := startNode(t)
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			store := imqtt.NewMemoryStore()
			alice := connect(t, baseConfig(d, "alice", proto))
			var r1 recorder
			cfg := r1.config(baseConfig(d, "bob", proto))
			cfg.Store = store
			bob := connect(t, cfg)
			first, err := alice.Send(ctx(t), imqtt.User("bob"), "before", imqtt.SendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r1.waitFor(t, "the first message", func(m imqtt.Message) bool { return m.CID == first.CID })
			_ = bob.Close()
			var sent []imqtt.Ack
			for i := range 5 {
				a, err := alice.Send(ctx(t), imqtt.User("bob"), fmt.Sprintf("missed %d", i), imqtt.SendOptions{})
				if err != nil {
					t.Fatal(err)
				}
				sent = append(sent, a)
			}
			var r2 recorder
			cfg = r2.config(baseConfig(d, "bob", proto))
			cfg.Store = store
			connect(t, cfg)
			r2.waitFor(t, "the last missed message", func(m imqtt.Message) bool { return m.CID == sent[4].CID })
			// The cursor is stored: any later live copy (seq ≤ cursor) is dropped.
			last := sent[4].Seq
			testkit.Eventually(t, 2*time.Second, "cursor at the last seq", func() bool {
				cur, _ := store.Cursors()
				return cur[direct("alice", "bob")] == last
			})
			var got []imqtt.Message
			for _, m := range r2.messages() {
				if m.Conv == direct("alice", "bob") {
					got = append(got, m)
				}
			}
			if len(got) != 5 {
				t.Fatalf("got %d messages, want the 5 missed: %+v", len(got), got)
			}
			for i, m := range got {
				if m.CID != sent[i].CID || m.Seq != sent[i].Seq {
					t.Fatalf("message %d: %+v, want seq %d", i, m, sent[i].Seq)
				}
			}
		})
	}
}
