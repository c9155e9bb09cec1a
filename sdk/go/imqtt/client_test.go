package imqtt_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/imqtt/imqtt/internal/testkit"
	"github.com/imqtt/imqtt/sdk/go/imqtt"
)

// TestSendReceive: alice sends bob a message and gets the ack; bob gets it
// once; bob's read receipt reaches alice; alice sees bob's presence; bob's
// reply reaches alice. On MQTT 5 and 3.1.1.
func TestSendReceive(t *testing.T) {
	d := startNode(t)
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			var ra, rb recorder
			alice := connect(t, ra.config(baseConfig(d, "alice", proto)))
			bob := connect(t, rb.config(baseConfig(d, "bob", proto)))
			body := fmt.Sprintf("hi bob over %d", proto)
			ack, err := alice.Send(ctx(t), imqtt.User("bob"), body, imqtt.SendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if ack.Conv != direct("alice", "bob") || ack.Seq < 1 || ack.ID == "" || ack.CID == "" || ack.Dup {
				t.Fatalf("ack %+v", ack)
			}
			m := rb.waitFor(t, "bob's message", func(m imqtt.Message) bool { return m.CID == ack.CID })
			if m.Body != body || m.From != "alice" || m.Seq != ack.Seq || m.CID != ack.CID {
				t.Fatalf("bob got %+v, ack %+v", m, ack)
			}
			if err := bob.MarkRead(ctx(t), m.Conv, m.Seq); err != nil {
				t.Fatal(err)
			}
			testkit.Eventually(t, 10*time.Second, "alice's read receipt", func() bool {
				ra.mu.Lock()
				defer ra.mu.Unlock()
				for _, r := range ra.receipts {
					if r.User == "bob" && r.Type == "read" && r.Seq == m.Seq {
						return true
					}
				}
				return false
			})
			if err := alice.WatchPresence(ctx(t), "bob"); err != nil {
				t.Fatal(err)
			}
			testkit.Eventually(t, 10*time.Second, "bob online", func() bool {
				ra.mu.Lock()
				defer ra.mu.Unlock()
				for _, p := range ra.presence {
					if p.User == "bob" && p.Status == "online" {
						return true
					}
				}
				return false
			})
			back, err := bob.Send(ctx(t), imqtt.User("alice"), "hi alice", imqtt.SendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := ra.waitFor(t, "alice's message", func(m imqtt.Message) bool { return m.CID == back.CID }); got.Body != "hi alice" || got.From != "bob" {
				t.Fatalf("alice got %+v", got)
			}
			for _, m := range ra.messages() {
				if m.CID == ack.CID {
					t.Fatalf("this device's own send was emitted as a message: %+v", m)
				}
			}
			h, err := alice.History(ctx(t), direct("alice", "bob"), imqtt.HistoryOptions{})
			if err != nil || len(h.Messages) == 0 || h.LastSeq != h.Messages[len(h.Messages)-1].Seq {
				t.Fatalf("history %+v: %v", h, err)
			}
		})
	}
}

// TestErrors: refusals are *imqtt.Error with the protocol's reason code: a
// group send by a non-member (0x87), an empty body (0x99), a bad password
// in the CONNACK (0x86); rpc refusals carry the method.
func TestErrors(t *testing.T) {
	d := startNode(t)
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			alice := connect(t, baseConfig(d, "alice", proto))
			dave := connect(t, baseConfig(d, "dave", proto))
			g, err := alice.CreateGroup(ctx(t), "team", []string{"bob"}, imqtt.GroupOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var ie *imqtt.Error
			_, err = dave.Send(ctx(t), imqtt.Group(g.Group), "let me in", imqtt.SendOptions{})
			if !errors.As(err, &ie) || ie.Code != imqtt.CodeNotAuthorized || ie.Topic != "im/send/group/"+g.Group {
				t.Fatalf("non-member send: %v", err)
			}
			_, err = alice.Send(ctx(t), imqtt.User("bob"), "", imqtt.SendOptions{})
			if !errors.As(err, &ie) || ie.Code != imqtt.CodePayloadInvalid {
				t.Fatalf("empty body: %v", err)
			}
			if out, _ := alice.Outbox(); len(out) != 0 {
				t.Fatalf("refused sends stay in the outbox: %+v", out)
			}
			_, err = dave.Members(ctx(t), g.Group)
			if !errors.As(err, &ie) || ie.Code != imqtt.CodeNotAuthorized || ie.Method != "group.members" {
				t.Fatalf("members as non-member: %v", err)
			}
			cfg := baseConfig(d, "alice", proto)
			cfg.Password = "wrong"
			_, err = imqtt.Connect(ctx(t), cfg)
			if !errors.As(err, &ie) || ie.Code != imqtt.CodeBadCredentials {
				t.Fatalf("bad password: %v", err)
			}
		})
	}
}

// TestGroup: a group is created, its members get the created notice and
// each other's messages in order, and Members lists them.
func TestGroup(t *testing.T) {
	d := startNode(t)
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			var rb, rc recorder
			alice := connect(t, baseConfig(d, "alice", proto))
			bob := connect(t, rb.config(baseConfig(d, "bob", proto)))
			connect(t, rc.config(baseConfig(d, "carol", proto)))
			g, err := alice.CreateGroup(ctx(t), "team", []string{"bob", "carol"}, imqtt.GroupOptions{})
			if err != nil || g.Conv != "g:"+g.Group || len(g.Added) != 2 {
				t.Fatalf("create: %+v %v", g, err)
			}
			if _, err := alice.Send(ctx(t), imqtt.Group(g.Group), "hello team", imqtt.SendOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := bob.Send(ctx(t), imqtt.Group(g.Group), "hi alice", imqtt.SendOptions{}); err != nil {
				t.Fatal(err)
			}
			inGroup := func(r *recorder) []imqtt.Message {
				var out []imqtt.Message
				for _, m := range r.messages() {
					if m.Conv == g.Conv {
						out = append(out, m)
					}
				}
				return out
			}
			testkit.Eventually(t, 10*time.Second, "carol's 3 group messages", func() bool { return len(inGroup(&rc)) == 3 })
			cm := inGroup(&rc)
			if cm[0].Type != "notice" || cm[1].Body != "hello team" || cm[2].Body != "hi alice" ||
				cm[0].Seq+1 != cm[1].Seq || cm[1].Seq+1 != cm[2].Seq {
				t.Fatalf("carol got %+v", cm)
			}
			testkit.Eventually(t, 10*time.Second, "bob's 2 group messages", func() bool { return len(inGroup(&rb)) == 2 })
			if bm := inGroup(&rb); bm[1].Body != "hello team" {
				t.Fatalf("bob got %+v (his own send must not come back)", bm)
			}
			mem, err := bob.Members(ctx(t), g.Group)
			if err != nil || len(mem.Members) != 3 {
				t.Fatalf("members %+v: %v", mem, err)
			}
		})
	}
}

// TestToken: a token minted through the admin API connects (as password).
func TestToken(t *testing.T) {
	d := startNode(t)
	if code, b := d.Admin("POST", "/api/v1/users", `{"name":"tina"}`); code != 201 && code != 409 {
		t.Fatalf("create user: %d %s", code, b)
	}
	code, b := d.Admin("POST", "/api/v1/users/tina/tokens", `{"device":"phone-1","ttl":"1h"}`)
	if code != 201 {
		t.Fatalf("mint: %d %s", code, b)
	}
	var minted struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &minted); err != nil || minted.Token == "" {
		t.Fatalf("mint response %s: %v", b, err)
	}
	tok := minted.Token
	for _, proto := range protocols {
		cfg := baseConfig(d, "tina", proto)
		cfg.Password, cfg.Token = "", tok
		c := connect(t, cfg)
		if _, err := c.Send(ctx(t), imqtt.User("alice"), "token ok", imqtt.SendOptions{}); err != nil {
			t.Fatalf("MQTT %d: send with a token: %v", proto, err)
		}
		_ = c.Close()
	}
}
