package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func newEmbedded(t *testing.T, mutate func(*Config)) (*Embedded, *atomic.Int64) {
	t.Helper()
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	e, err := OpenEmbedded(cfg, filepath.Join(t.TempDir(), "media"), func() string { return "http://h:1" },
		func() time.Time { return time.Unix(0, clock.Load()) }, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e, &clock
}

func file(data []byte, mime string) File {
	sum := sha256.Sum256(data)
	return File{Name: "f", Size: int64(len(data)), MIME: mime, SHA256: hex.EncodeToString(sum[:])}
}

// put PUTs data to g's URL through ParseSigned and Put, as the handler does.
func put(e *Embedded, g Grant, data []byte) error {
	p, q, _ := strings.Cut(strings.TrimPrefix(g.PutURL, "http://h:1"), "?")
	s, err := ParseSigned(http.MethodPut, p, q)
	if err != nil {
		return err
	}
	return e.Put(s, int64(len(data)), bytes.NewReader(data))
}

func get(e *Embedded, u string) ([]byte, error) {
	p, q, _ := strings.Cut(strings.TrimPrefix(u, "http://h:1"), "?")
	s, err := ParseSigned(http.MethodGet, p, q)
	if err != nil {
		return nil, err
	}
	f, err := e.Open(s)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func TestEmbeddedRoundTripAndRefusals(t *testing.T) {
	e, clock := newEmbedded(t, func(c *Config) { c.MaxSize = 100; c.UserQuota = 150 })
	ctx := context.Background()
	data := bytes.Repeat([]byte("x"), 80)
	f := file(data, "text/plain")
	g, err := e.Upload(ctx, "alice", f)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Check(g.URL, f); err != nil {
		t.Fatalf("check of an issued url: %v", err)
	}
	if err := put(e, g, append(bytes.Clone(data), 'y')); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize body: %v", err)
	}
	if err := put(e, g, data[:79]); !errors.Is(err, ErrChecksum) {
		t.Fatalf("short body: %v", err)
	}
	if _, err := get(e, g.URL); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get before put: %v", err)
	}
	if err := put(e, g, data); err != nil {
		t.Fatal(err)
	}
	if err := put(e, g, data); err != nil {
		t.Fatalf("idempotent re-put: %v", err)
	}
	if got, err := get(e, g.URL); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %v", err)
	}
	// Quota: 80 stored, 80 more is above 150.
	if _, err := e.Upload(ctx, "alice", file(bytes.Repeat([]byte("z"), 80), "text/plain")); !errors.Is(err, ErrQuota) {
		t.Fatalf("over quota: %v", err)
	}
	if _, err := e.Upload(ctx, "bob", file(bytes.Repeat([]byte("z"), 80), "text/plain")); err != nil {
		t.Fatalf("bob's quota is his own: %v", err)
	}
	if _, err := e.Upload(ctx, "alice", file(make([]byte, 101), "text/plain")); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("above max_size: %v", err)
	}
	if _, err := e.Upload(ctx, "alice", file(data, "image/svg+xml")); !errors.Is(err, ErrType) {
		t.Fatalf("svg: %v", err)
	}
	// Another file's digest does not fit the key.
	if err := e.Check(g.URL, file([]byte("other"), "text/plain")); !errors.Is(err, ErrNotIssued) {
		t.Fatalf("check with another file: %v", err)
	}
	// Expiry.
	clock.Add(int64(8 * 24 * time.Hour))
	if _, err := get(e, g.URL); !errors.Is(err, ErrExpired) {
		t.Fatalf("get after expiry: %v", err)
	}
	if err := e.Check(g.URL, f); !errors.Is(err, ErrExpired) {
		t.Fatalf("check after expiry: %v", err)
	}
}

// TestKeysStayInside: keys that are not the server's layout never reach the
// file system.
func TestKeysStayInside(t *testing.T) {
	q := "m=text%2Fplain&e=99999999999&s=" + strings.Repeat("A", 43)
	for _, p := range []string{
		"/media/../secret", "/media/61/../../etc/passwd", "/media/%2e%2e/x", "/media/61/" + strings.Repeat("0", 47) + ".",
		"/media/61/" + strings.Repeat("0", 48) + "/x", "/media/" + SecretFileName, "/media/6/" + strings.Repeat("0", 48),
		"/media/61/" + strings.Repeat("A", 48), "/x/61/" + strings.Repeat("0", 48),
	} {
		if _, err := ParseSigned(http.MethodGet, p, q); !errors.Is(err, ErrNotIssued) {
			t.Errorf("%s: %v, want ErrNotIssued", p, err)
		}
	}
}

func TestSecretFileIsKept(t *testing.T) {
	dir := t.TempDir()
	open := func() *Embedded {
		e, err := OpenEmbedded(DefaultConfig(), dir, func() string { return "http://h:1" }, nil, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a, b := open(), open()
	if !bytes.Equal(a.secret, b.secret) {
		t.Fatal("a reopened store has another secret: its URLs would break on restart")
	}
	if fi, err := os.Stat(filepath.Join(dir, SecretFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, m := range []func(*Config){
		func(c *Config) { c.Backend = "ftp" },
		func(c *Config) { c.MaxSize = 0 },
		func(c *Config) { c.AllowedTypes = []string{"image"} },
		func(c *Config) { c.GetExpiry = 8 * 24 * time.Hour },
		func(c *Config) { c.Secret = "short" },
		func(c *Config) { c.PublicURL = "ftp://x" },
		func(c *Config) { c.Backend = BackendS3 },
		func(c *Config) {
			c.Backend = BackendS3
			c.S3 = S3Config{Endpoint: "http://x", Bucket: "b", AccessKey: "a", SecretKey: "s"}
		},
	} {
		c := DefaultConfig()
		m(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}
