package imqtt_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/imqtt/imqtt/internal/testkit"
	"github.com/imqtt/imqtt/sdk/go/imqtt"
)

// waitState waits for a connection event in state and returns it.
func waitState(t *testing.T, r *recorder, state imqtt.ConnState) imqtt.Connection {
	t.Helper()
	return waitEvent(t, r, string(state), func() []imqtt.Connection { return r.conns },
		func(c imqtt.Connection) bool { return c.State == state })
}

// TestRevokedToken: a revoked token kicks the device (0x98) and its
// reconnect is refused with 0x86: the Client stops retrying, reports
// StateFailed with the *Error, and its calls return that error.
func TestRevokedToken(t *testing.T) {
	d := startNode(t)
	if code, b := d.Admin("POST", "/api/v1/users", `{"name":"tina"}`); code != 201 {
		t.Fatalf("create user: %d %s", code, b)
	}
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			code, b := d.Admin("POST", "/api/v1/users/tina/tokens", `{"device":"phone","ttl":"1h"}`)
			var minted struct{ Token, ID string }
			if code != 201 || json.Unmarshal(b, &minted) != nil || minted.ID == "" {
				t.Fatalf("mint: %d %s", code, b)
			}
			var r recorder
			cfg := r.config(baseConfig(d, "tina", proto))
			cfg.Password, cfg.Token = "", minted.Token
			c := connect(t, cfg)
			if code, b := d.Admin("DELETE", "/api/v1/tokens/"+minted.ID, ""); code != 200 {
				t.Fatalf("revoke: %d %s", code, b)
			}
			ev := waitState(t, &r, imqtt.StateFailed)
			var ie *imqtt.Error
			if !errors.As(ev.Err, &ie) || ie.Code != imqtt.CodeBadCredentials {
				t.Fatalf("failed event %+v, want *Error 0x86", ev)
			}
			r.mu.Lock()
			states := fmt.Sprint(r.conns)
			r.mu.Unlock()
			if !strings.Contains(states, "disconnected") || strings.Count(states, "failed") != 1 {
				t.Fatalf("connection events %s", states)
			}
			if _, err := c.Send(ctx(t), imqtt.User("alice"), "after revoke", imqtt.SendOptions{}); !errors.As(err, &ie) || ie.Code != imqtt.CodeBadCredentials {
				t.Fatalf("send after the failure: %v, want the 0x86 refusal", err)
			}
			if _, err := c.Conversations(ctx(t)); !errors.As(err, &ie) || ie.Code != imqtt.CodeBadCredentials {
				t.Fatalf("rpc after the failure: %v, want the 0x86 refusal", err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRefusedReconnectKeepsOutbox: a send waits in the outbox while the
// node is down; the node comes back with the device's password changed, so
// the reconnect is refused (0x86): the waiting Send returns the refusal,
// the entry stays in the Store, and a later Connect with the new password
// on the same Store sends it.
func TestRefusedReconnectKeepsOutbox(t *testing.T) {
	d := startNode(t)
	for i, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			if i > 0 {
				testkit.WriteUsers(t, d.Dir, testUsers) // the passwords of the node's start
				d.Stop()
				d.Restart()
			}
			var r recorder
			store := imqtt.NewMemoryStore()
			cfg := r.config(baseConfig(d, "dave", proto))
			cfg.Store = store
			c := connect(t, cfg)
			d.Stop()
			waitState(t, &r, imqtt.StateReconnecting)
			sent := make(chan error, 1)
			go func() {
				_, err := c.Send(ctx(t), imqtt.User("alice"), "queued", imqtt.SendOptions{})
				sent <- err
			}()
			testkit.Eventually(t, 10*time.Second, "the send in the outbox", func() bool {
				out, _ := store.ListOutbox()
				return len(out) == 1
			})
			setPassword(t, d, "dave", "dave-new")
			d.Restart()
			var ie *imqtt.Error
			select {
			case err := <-sent:
				if !errors.As(err, &ie) || ie.Code != imqtt.CodeBadCredentials {
					t.Fatalf("waiting send: %v, want the 0x86 refusal", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the waiting send did not return after the refusal")
			}
			if ev := waitState(t, &r, imqtt.StateFailed); !errors.As(ev.Err, &ie) || ie.Code != imqtt.CodeBadCredentials {
				t.Fatalf("failed event %+v", ev)
			}
			out, _ := store.ListOutbox()
			if len(out) != 1 {
				t.Fatalf("outbox after the failure: %+v, want the entry kept", out)
			}
			var r2 recorder
			cfg2 := r2.config(cfg)
			cfg2.Password = "dave-new"
			connect(t, cfg2)
			a := waitEvent(t, &r2, "the re-sent entry's ack", func() []imqtt.Ack { return r2.acks },
				func(a imqtt.Ack) bool { return a.CID == out[0].CID })
			if a.Err != nil || a.Seq < 1 {
				t.Fatalf("ack %+v", a)
			}
			testkit.Eventually(t, 10*time.Second, "an empty outbox", func() bool {
				out, _ := store.ListOutbox()
				return len(out) == 0
			})
		})
	}
}

// setPassword rewrites the node's password file (testkit.StartIM's
// users.passwd) with user's password set to pw.
func setPassword(t *testing.T, d *testkit.Imqttd, user, pw string) {
	t.Helper()
	path := filepath.Join(d.Dir, "users.passwd")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, user+":") {
			lines[i] = user + ":" + string(h)
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestConnectUnreachable: with nothing listening, Connect keeps retrying
// until Config.Timeout, then returns ErrTimeout wrapping the last network
// error (connection refused), on both protocol versions.
func TestConnectUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("mqtt%d", proto), func(t *testing.T) {
			cfg := imqtt.Config{URL: "mqtt://" + addr, User: "alice", Password: "alice-pw", Protocol: proto,
				ReconnectMin: 20 * time.Millisecond, ReconnectMax: 100 * time.Millisecond, Timeout: 700 * time.Millisecond}
			start := time.Now()
			c, err := imqtt.Connect(ctx(t), cfg)
			took := time.Since(start)
			if c != nil {
				_ = c.Close()
			}
			if !errors.Is(err, imqtt.ErrTimeout) || !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("connect to a closed port: %v, want ErrTimeout wrapping ECONNREFUSED", err)
			}
			if took < cfg.Timeout {
				t.Fatalf("gave up after %s, before the %s timeout", took, cfg.Timeout)
			}
		})
	}
}
