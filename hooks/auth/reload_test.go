package auth

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestReloadPasswordFile(t *testing.T) {
	cfg, path := passwordConfig(t, map[string]string{"alice": "alice-pw"})
	tb := newTestBroker(t, cfg)
	carol := conn5{clientID: "carol", username: str("carol"), password: str("carol-pw")}

	expect5(t, tb, carol, 0x86, ReasonUnknownUser, "")

	// The `imqttd user` path: edit and save; the broker sees it on Reload.
	pf, err := LoadPasswordFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_ = pf.SetCost(testCost)
	if err := pf.Set("carol", "carol-pw"); err != nil {
		t.Fatal(err)
	}
	if err := pf.Remove("alice"); err != nil {
		t.Fatal(err)
	}
	if err := pf.Save(); err != nil {
		t.Fatal(err)
	}
	expect5(t, tb, carol, 0x86, ReasonUnknownUser, "") // not before Reload
	if err := tb.hook.Reload(); err != nil {
		t.Fatal(err)
	}
	expect5(t, tb, carol, 0, "", "carol")
	expect5(t, tb, conn5{clientID: "alice", username: str("alice"), password: str("alice-pw")}, 0x86, ReasonUnknownUser, "")

	// A broken file keeps the previous state; the error names file and line.
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(data, []byte("dave:not-a-hash\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	err = tb.hook.Reload()
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != path || pe.Line != 3 {
		t.Fatalf("Reload(broken) = %v, want ParseError at %s:3", err, path)
	}
	if !strings.Contains(err.Error(), path+":3:") {
		t.Fatalf("error %q does not name file:line", err)
	}
	expect5(t, tb, carol, 0, "", "carol")

	// A missing file too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := tb.hook.Reload(); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Reload(missing) = %v", err)
	}
	expect5(t, tb, carol, 0, "", "carol")
}

func TestReloadKeys(t *testing.T) {
	dir := t.TempDir()
	secretPath := filepath.Join(dir, "hmac")
	old := newHMACSecret(t)
	if err := os.WriteFile(secretPath, old, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.JWT = JWTConfig{Enabled: true, Algorithms: []string{AlgHS256}, HMACSecretFile: secretPath, Leeway: DefaultLeeway}
	tb := newTestBroker(t, cfg)
	tok := func(key []byte) string {
		return sign(t, jwt.SigningMethodHS256, bytes.TrimRight(key, "\n"), claims("heidi"))
	}
	oldTok := tok(old)
	expect5(t, tb, conn5{clientID: "old-1", password: str(oldTok)}, 0, "", "heidi")

	// Rotate.
	rotated := newHMACSecret(t)
	if err := os.WriteFile(secretPath, rotated, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tb.hook.Reload(); err != nil {
		t.Fatal(err)
	}
	expect5(t, tb, conn5{clientID: "old-2", password: str(oldTok)}, 0x86, ReasonTokenInvalid, "")
	expect5(t, tb, conn5{clientID: "new-1", password: str(tok(rotated))}, 0, "", "heidi")

	// A too-short secret is refused; the rotated key stays in force.
	if err := os.WriteFile(secretPath, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tb.hook.Reload(); !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), secretPath) {
		t.Fatalf("Reload(short secret) = %v, want ErrInvalidKey naming %s", err, secretPath)
	}
	logs := tb.logs.String()
	for _, s := range [][]byte{old, rotated} {
		if strings.Contains(logs, string(bytes.TrimRight(s, "\n"))) {
			t.Fatal("secret content reached the log")
		}
	}
	expect5(t, tb, conn5{clientID: "new-2", password: str(tok(rotated))}, 0, "", "heidi")
}

// TestReloadWhileConnecting runs Reload concurrently with logins (for -race).
func TestReloadWhileConnecting(t *testing.T) {
	cfg, _ := passwordConfig(t, map[string]string{"alice": "alice-pw"})
	tb := newTestBroker(t, cfg)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := tb.hook.Reload(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for i := range 10 {
		expect5(t, tb, conn5{clientID: "c" + string(rune('a'+i)), username: str("alice"), password: str("alice-pw")}, 0, "", "alice")
	}
	close(stop)
	wg.Wait()
}
