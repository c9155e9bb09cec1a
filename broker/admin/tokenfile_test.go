package admin_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker/admin"
)

// TestGeneratedToken: with require_token and no token configured, the first
// New creates a private random token file, later ones reuse it, and the API
// requires it.
func TestGeneratedToken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "admin.token")
	cfg := admin.DefaultConfig()
	cfg.Address, cfg.GeneratedTokenFile = "127.0.0.1:0", path

	var buf syncBuffer
	s, err := admin.New(cfg, admin.Deps{}, zerolog.New(&buf))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("token file not created: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %s, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	tok := strings.TrimSpace(string(b))
	if raw, err := hex.DecodeString(tok); err != nil || len(raw) != 32 {
		t.Fatalf("token %d chars (%v), want 32 random bytes in hex", len(tok), err)
	}
	if !s.TokenRequired() || s.TokenFile() != path {
		t.Fatalf("TokenRequired() = %v, TokenFile() = %q", s.TokenRequired(), s.TokenFile())
	}
	if !strings.Contains(buf.String(), `"message":"admin token created"`) || !strings.Contains(buf.String(), path) || strings.Contains(buf.String(), tok) {
		t.Fatalf("creation log must name the file, not the token:\n%s", buf.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary files left in the data dir: %v", entries)
	}

	srv := newTestServer(t, cfg, admin.Deps{}) // a restart reuses the file
	base := "http://" + srv.Addr()
	if r := do(t, "GET", base+"/api/v1/version", ""); r.status != 401 {
		t.Fatalf("without the token: %d", r.status)
	}
	if r := do(t, "GET", base+"/api/v1/version", "Bearer "+tok); r.status != 200 {
		t.Fatalf("with the generated token: %d %s", r.status, r.body)
	}
	if b2, _ := os.ReadFile(path); string(b2) != string(b) {
		t.Fatal("a second New rewrote the token file")
	}
}

// TestGeneratedTokenFileMustBePrivate: an existing token file that others
// could read or swap stops the node.
func TestGeneratedTokenFileMustBePrivate(t *testing.T) {
	good := strings.Repeat("ab", 32) + "\n"
	cases := map[string]func(t *testing.T, path string){
		"group readable": func(t *testing.T, path string) {
			writeToken(t, path, good, 0o640)
		},
		"world readable": func(t *testing.T, path string) {
			writeToken(t, path, good, 0o644)
		},
		"symlink": func(t *testing.T, path string) {
			target := filepath.Join(t.TempDir(), "elsewhere")
			writeToken(t, target, good, 0o600)
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		},
		"another user's": func(t *testing.T, path string) {
			writeToken(t, path, good, 0o600)
			if err := os.Chown(path, os.Geteuid()+4242, -1); err != nil {
				skipOutsideCI(t, fmt.Sprintf("cannot give the file to another user here: %v", err))
			}
		},
		"directory": func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "admin.token")
			setup(t, path)
			cfg := admin.DefaultConfig()
			cfg.Address, cfg.GeneratedTokenFile = "127.0.0.1:0", path
			_, err := admin.New(cfg, admin.Deps{}, zerolog.Nop())
			if !errors.Is(err, admin.ErrTokenFileUnsafe) || !strings.Contains(err.Error(), path) {
				t.Fatalf("New = %v, want ErrTokenFileUnsafe naming %s", err, path)
			}
			if strings.Contains(err.Error(), strings.TrimSpace(good)) {
				t.Fatalf("error leaks the token: %v", err)
			}
		})
	}
	t.Run("too short", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "admin.token")
		writeToken(t, path, "short\n", 0o600)
		cfg := admin.DefaultConfig()
		cfg.Address, cfg.GeneratedTokenFile = "127.0.0.1:0", path
		if _, err := admin.New(cfg, admin.Deps{}, zerolog.Nop()); !errors.Is(err, admin.ErrInvalidToken) {
			t.Fatalf("New = %v, want ErrInvalidToken", err)
		}
	})
	t.Run("no data dir", func(t *testing.T) {
		cfg := admin.DefaultConfig()
		cfg.Address, cfg.GeneratedTokenFile = "127.0.0.1:0", filepath.Join(t.TempDir(), "missing", "admin.token")
		if _, err := admin.New(cfg, admin.Deps{}, zerolog.Nop()); err == nil {
			t.Fatal("New created a token in a directory that does not exist")
		}
	})
}

func writeToken(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is masked by the umask
		t.Fatal(err)
	}
}
