package imqtt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imqtt/imqtt/internal/testkit"
	"github.com/imqtt/imqtt/sdk/go/imqtt"
)

// TestEditRecallReact: alice edits her message, bob reacts to it, alice
// recalls it; each change reaches the other side as a message of type
// edit / reaction / recall with the target seq, and history returns the
// message as it is after each step. On MQTT 5 and 3.1.1.
func TestEditRecallReact(t *testing.T) {
	d := startNode(t)
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			var ra, rb recorder
			alice := connect(t, ra.config(baseConfig(d, "alice", proto)))
			bob := connect(t, rb.config(baseConfig(d, "bob", proto)))
			ack, err := alice.Send(ctx(t), imqtt.User("bob"), "helo", imqtt.SendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			conv := ack.Conv
			rb.waitFor(t, "the message", func(m imqtt.Message) bool { return m.CID == ack.CID })

			ed, err := alice.Edit(ctx(t), conv, ack.Seq, "hello")
			if err != nil || !ed.Changed || ed.Target != ack.Seq || ed.Seq <= ack.Seq {
				t.Fatalf("edit: %+v %v", ed, err)
			}
			ev := rb.waitFor(t, "the edit event", func(m imqtt.Message) bool { return m.Type == "edit" && m.Seq == ed.Seq })
			if ev.Target != ack.Seq || ev.Body != "hello" || ev.From != "alice" {
				t.Fatalf("edit event %+v", ev)
			}

			re, err := bob.React(ctx(t), conv, ack.Seq, "👍", false)
			if err != nil || !re.Changed {
				t.Fatalf("react: %+v %v", re, err)
			}
			ev = ra.waitFor(t, "the reaction event", func(m imqtt.Message) bool { return m.Type == "reaction" && m.Seq == re.Seq })
			if ev.Target != ack.Seq || ev.Emoji != "👍" || ev.From != "bob" || ev.Remove {
				t.Fatalf("reaction event %+v", ev)
			}
			again, err := bob.React(ctx(t), conv, ack.Seq, "👍", false)
			if err != nil || again.Changed {
				t.Fatalf("same reaction again: %+v %v (want changed false)", again, err)
			}
			m := historyOf(t, bob, conv, ack.Seq)
			if m.Body != "hello" || m.EditedTS == 0 || len(m.Reactions) != 1 ||
				m.Reactions[0] != (imqtt.Reaction{Emoji: "👍", Count: 1, Me: true}) {
				t.Fatalf("history after edit and reaction: %+v", m)
			}

			rc, err := alice.Recall(ctx(t), conv, ack.Seq)
			if err != nil || !rc.Changed {
				t.Fatalf("recall: %+v %v", rc, err)
			}
			ev = rb.waitFor(t, "the recall event", func(m imqtt.Message) bool { return m.Type == "recall" && m.Seq == rc.Seq })
			if ev.Target != ack.Seq || ev.From != "alice" {
				t.Fatalf("recall event %+v", ev)
			}
			if m := historyOf(t, bob, conv, ack.Seq); !m.Recalled || m.Body != "" || len(m.Reactions) != 0 {
				t.Fatalf("history after recall: %+v", m)
			}
			var ie *imqtt.Error
			if _, err := alice.Recall(ctx(t), conv, ack.Seq); !errors.As(err, &ie) ||
				ie.Code != imqtt.CodeImplementation || ie.Method != "msg.recall" {
				t.Fatalf("second recall: %v, want 0x83", err)
			}
		})
	}
}

// historyOf returns message seq of conv from c's history.
func historyOf(t *testing.T, c *imqtt.Client, conv string, seq int64) imqtt.Message {
	t.Helper()
	h, err := c.History(ctx(t), conv, imqtt.HistoryOptions{Before: seq + 1, Limit: 1})
	if err != nil || len(h.Messages) != 1 || h.Messages[0].Seq != seq {
		t.Fatalf("history %s/%d: %+v %v", conv, seq, h, err)
	}
	return h.Messages[0]
}

// TestBlock: while alice blocks bob, bob's direct send is refused with
// 0x87 "blocked", alice's devices get the block event and BlockList lists
// bob; after Unblock the send goes through.
func TestBlock(t *testing.T) {
	d := startNode(t)
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			var ra recorder
			alice := connect(t, ra.config(baseConfig(d, "alice", proto)))
			bob := connect(t, baseConfig(d, "bob", proto))
			if err := alice.Block(ctx(t), "bob"); err != nil {
				t.Fatal(err)
			}
			waitEvent(t, &ra, "the block event", func() []imqtt.Prefs { return ra.prefs },
				func(p imqtt.Prefs) bool { return p.Event == "block" && p.User == "bob" && p.Blocked })
			list, err := alice.BlockList(ctx(t))
			if err != nil || len(list) != 1 || list[0].User != "bob" || list[0].Since == 0 {
				t.Fatalf("block list %+v: %v", list, err)
			}
			var ie *imqtt.Error
			_, err = bob.Send(ctx(t), imqtt.User("alice"), "hello?", imqtt.SendOptions{})
			if !errors.As(err, &ie) || ie.Code != imqtt.CodeNotAuthorized || ie.Reason != "blocked" ||
				ie.Topic != "im/send/user/alice" {
				t.Fatalf("send to a blocker: %v, want 0x87 blocked", err)
			}
			if out, _ := bob.Outbox(); len(out) != 0 {
				t.Fatalf("a refused send stays in the outbox: %+v", out)
			}
			if err := alice.Unblock(ctx(t), "bob"); err != nil {
				t.Fatal(err)
			}
			waitEvent(t, &ra, "the unblock event", func() []imqtt.Prefs { return ra.prefs },
				func(p imqtt.Prefs) bool { return p.Event == "block" && p.User == "bob" && !p.Blocked })
			if list, err := alice.BlockList(ctx(t)); err != nil || len(list) != 0 {
				t.Fatalf("block list after unblock %+v: %v", list, err)
			}
			if _, err := bob.Send(ctx(t), imqtt.User("alice"), "hello again", imqtt.SendOptions{}); err != nil {
				t.Fatalf("send after unblock: %v", err)
			}
		})
	}
}

// TestConversationSettings: a setting changed on one of alice's devices
// reaches her other device as a prefs event, and Conversations lists the
// conversation with its settings.
func TestConversationSettings(t *testing.T) {
	d := startNode(t)
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			var r2 recorder
			phone := connect(t, baseConfig(d, "alice", proto))
			laptop := connect(t, r2.config(baseConfig(d, "alice", proto)))
			ack, err := phone.Send(ctx(t), imqtt.User("carol"), "hi carol", imqtt.SendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("Carol %d", proto)
			set, err := phone.SetConversation(ctx(t), ack.Conv, map[string]any{"pin": true, "name": name})
			if err != nil {
				t.Fatal(err)
			}
			var s struct {
				Pin      bool   `json:"pin"`
				PinnedAt int64  `json:"pinned_at"`
				Name     string `json:"name"`
			}
			if err := json.Unmarshal(set, &s); err != nil || !s.Pin || s.PinnedAt == 0 || s.Name != name {
				t.Fatalf("settings %s: %v", set, err)
			}
			p := waitEvent(t, &r2, "the prefs event on the other device", func() []imqtt.Prefs { return r2.prefs },
				func(p imqtt.Prefs) bool {
					return p.Event == "conversation" && p.Conv == ack.Conv && strings.Contains(string(p.Settings), name)
				})
			if p.TS == 0 {
				t.Fatalf("prefs event %+v", p)
			}
			cs, err := laptop.Conversations(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs.Conversations {
				if c.Conv == ack.Conv {
					if c.Kind != "direct" || c.Peer != "carol" || c.LastSeq < ack.Seq || !strings.Contains(string(c.Settings), name) {
						t.Fatalf("conversation %+v (settings %s)", c, c.Settings)
					}
					return
				}
			}
			t.Fatalf("%s not in conversations %+v", ack.Conv, cs)
		})
	}
}

// TestProfile: bob's profile change reaches alice (they share a
// conversation) as a profile event; GetProfiles returns bob's and leaves
// out a user alice shares nothing with.
func TestProfile(t *testing.T) {
	d := startNode(t)
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			var ra recorder
			alice := connect(t, ra.config(baseConfig(d, "alice", proto)))
			bob := connect(t, baseConfig(d, "bob", proto))
			if _, err := bob.Send(ctx(t), imqtt.User("alice"), "hi", imqtt.SendOptions{}); err != nil {
				t.Fatal(err)
			}
			name, status := fmt.Sprintf("Bob %d", proto), "on a train"
			p, err := bob.SetProfile(ctx(t), imqtt.ProfileUpdate{DisplayName: &name, Status: &status})
			if err != nil || p.User != "bob" || p.DisplayName != name || p.Status != status || p.Updated == 0 {
				t.Fatalf("set profile: %+v %v", p, err)
			}
			waitEvent(t, &ra, "bob's profile event", func() []imqtt.Profile { return ra.profiles },
				func(p imqtt.Profile) bool { return p.User == "bob" && p.DisplayName == name })
			ps, err := alice.GetProfiles(ctx(t), []string{"bob", "dave"})
			if err != nil || len(ps) != 1 || ps[0].User != "bob" || ps[0].DisplayName != name {
				t.Fatalf("get profiles: %+v %v (dave shares nothing with alice: left out)", ps, err)
			}
			bad := "http://x/a.png"
			var ie *imqtt.Error
			if _, err := bob.SetProfile(ctx(t), imqtt.ProfileUpdate{Avatar: &bad}); !errors.As(err, &ie) || ie.Code != imqtt.CodePayloadInvalid {
				t.Fatalf("http avatar: %v, want 0x99", err)
			}
		})
	}
}

// TestNotify: an admin (im.admins) notifies a user and everyone; a
// non-admin is refused 0x87.
func TestNotify(t *testing.T) {
	d := startNode(t)
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			var rb recorder
			root := connect(t, baseConfig(d, "root", proto))
			bob := connect(t, rb.config(baseConfig(d, "bob", proto)))
			title := fmt.Sprintf("Maintenance %d", proto)
			res, err := root.Notify(ctx(t), imqtt.User("bob"), title, "Tonight 22:00")
			if err != nil || res.ID == "" || res.Recipients != 1 {
				t.Fatalf("notify: %+v %v", res, err)
			}
			n := waitEvent(t, &rb, "bob's notification", func() []imqtt.Notification { return rb.notes },
				func(n imqtt.Notification) bool { return n.ID == res.ID })
			if n.From != "root" || n.Title != title || n.Body != "Tonight 22:00" || !strings.Contains(string(n.To), `"bob"`) {
				t.Fatalf("notification %+v", n)
			}
			all, err := root.Notify(ctx(t), imqtt.All(), title, "to all")
			if err != nil {
				t.Fatal(err)
			}
			waitEvent(t, &rb, "the notification to all", func() []imqtt.Notification { return rb.notes },
				func(n imqtt.Notification) bool { return n.ID == all.ID && n.Body == "to all" })
			var ie *imqtt.Error
			if _, err := bob.Notify(ctx(t), imqtt.User("alice"), "x", "y"); !errors.As(err, &ie) ||
				ie.Code != imqtt.CodeNotAuthorized || ie.Method != "notify" {
				t.Fatalf("notify by a non-admin: %v, want 0x87", err)
			}
		})
	}
}

// TestUploadImage: UploadFile puts a file into the embedded media store
// (the admin listener's /media/), the image message carrying its body
// reaches bob, and bob fetches the same bytes from its URL.
func TestUploadImage(t *testing.T) {
	d := startNode(t)
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			var rb recorder
			alice := connect(t, baseConfig(d, "alice", proto))
			connect(t, rb.config(baseConfig(d, "bob", proto)))
			data := bytes.Repeat([]byte(fmt.Sprintf("png %d ", proto)), 5000)
			body, err := alice.UploadFile(ctx(t), data, "cat.png", "image/png")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(body.URL, d.Addr("admin")+"/media/") || body.Size != int64(len(data)) || len(body.SHA256) != 64 {
				t.Fatalf("media body %+v", body)
			}
			ack, err := alice.Send(ctx(t), imqtt.User("bob"), body.JSON(), imqtt.SendOptions{Type: "image"})
			if err != nil {
				t.Fatal(err)
			}
			m := rb.waitFor(t, "bob's image", func(m imqtt.Message) bool { return m.CID == ack.CID })
			var got imqtt.MediaBody
			if err := json.Unmarshal([]byte(m.Body), &got); err != nil || m.Type != "image" || got != body {
				t.Fatalf("image message %+v (body %+v): %v", m, got, err)
			}
			resp, err := http.Get(got.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(b, data) {
				t.Fatalf("GET %s: %s, %d bytes (want %d): %v", got.URL, resp.Status, len(b), len(data), err)
			}
			var ie *imqtt.Error
			if _, err := alice.UploadFile(ctx(t), data, "cat.exe", "application/x-msdownload"); !errors.As(err, &ie) ||
				ie.Code != imqtt.CodePayloadInvalid || ie.Method != "upload" {
				t.Fatalf("upload of a mime not allowed: %v, want 0x99", err)
			}
		})
	}
}

// TestReceiptRefusal: a receipt beyond the conversation's last seq is
// refused with 0x83 and typing to a blocker with 0x87: on MQTT 5 MarkRead
// and Typing return the *Error (from the PUBACK); on MQTT 3.1.1 they return
// nil and the refusal goes to OnError with the request's topic.
func TestReceiptRefusal(t *testing.T) {
	d := startNode(t)
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			var rb recorder
			alice := connect(t, baseConfig(d, "alice", proto))
			bob := connect(t, rb.config(baseConfig(d, "bob", proto)))
			ack, err := alice.Send(ctx(t), imqtt.User("bob"), "hi", imqtt.SendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := alice.Block(ctx(t), "bob"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = alice.Unblock(ctx(t), "bob") })
			readErr := bob.MarkRead(ctx(t), ack.Conv, ack.Seq+1000)
			typingErr := bob.Typing(ctx(t), ack.Conv, "start")
			want := []struct {
				code   byte
				reason string
				topic  string
			}{
				{imqtt.CodeImplementation, "seq out of range", "im/receipt/" + ack.Conv},
				{imqtt.CodeNotAuthorized, "blocked", "im/typing/" + ack.Conv},
			}
			errs := []error{readErr, typingErr}
			if proto == 4 {
				if readErr != nil || typingErr != nil {
					t.Fatalf("MQTT 3.1.1: MarkRead %v, Typing %v: want nil (refusals go to OnError)", readErr, typingErr)
				}
				testkit.Eventually(t, 10*time.Second, "two refusals on OnError", func() bool {
					rb.mu.Lock()
					defer rb.mu.Unlock()
					return len(rb.errs) >= 2
				})
				rb.mu.Lock()
				errs = slices.Clone(rb.errs)
				rb.mu.Unlock()
			}
			for i, w := range want {
				var ie *imqtt.Error
				if !errors.As(errs[i], &ie) || ie.Code != w.code || !strings.HasPrefix(ie.Reason, w.reason) || ie.Topic != w.topic {
					t.Fatalf("refusal %d: %v, want 0x%02X %q on %s", i, errs[i], w.code, w.reason, w.topic)
				}
			}
		})
	}
}
