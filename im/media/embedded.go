package media

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// SecretFileName is the file under the media directory holding the generated
// secret when Config.Secret is empty.
const SecretFileName = "media.secret"

// Embedded stores files under one directory of the node: {dir}/{owner}/{id}.
// It is per node: another node cannot serve its files (clusters use S3).
type Embedded struct {
	cfg    Config
	dir    string
	secret []byte
	base   func() string // public base URL, no trailing slash
	now    func() time.Time
	log    zerolog.Logger

	mu       sync.Mutex       // guards reserved, closed and the quota check
	reserved map[string]int64 // owner -> bytes of PUTs in progress
	closed   bool
}

// OpenEmbedded opens (creating) the store in dir. base returns the public
// base URL of the HTTP listener ("http://127.0.0.1:8080"); it is called on
// every Upload because the listener binds after the store opens. now is the
// clock (nil: time.Now).
func OpenEmbedded(cfg Config, dir string, base func() string, now func() time.Time, log zerolog.Logger) (*Embedded, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	secret := []byte(cfg.Secret)
	if len(secret) == 0 {
		var err error
		if secret, err = loadSecret(filepath.Join(dir, SecretFileName)); err != nil {
			return nil, err
		}
	}
	return &Embedded{cfg: cfg, dir: dir, secret: secret, base: base, now: now,
		log: log.With().Str(logfield.Component, "media").Logger(), reserved: map[string]int64{}}, nil
}

// loadSecret reads the secret file, creating it with 32 random bytes.
func loadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= minSecretBytes {
		return b, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: read %s: %v", ErrUnavailable, path, err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("%w: random: %v", ErrUnavailable, err)
	}
	b = []byte(hex.EncodeToString(b))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("%w: write %s: %v", ErrUnavailable, path, err)
	}
	return b, nil
}

// Upload implements Store.
func (e *Embedded) Upload(_ context.Context, user string, f File) (Grant, error) {
	if err := e.cfg.checkFile(f); err != nil {
		return Grant{}, err
	}
	owner := ownerOf(user)
	e.mu.Lock()
	closed := e.closed
	used, err := e.usedLocked(owner)
	e.mu.Unlock()
	if closed {
		return Grant{}, ErrClosed
	}
	if err != nil {
		return Grant{}, err
	}
	if e.cfg.UserQuota > 0 && used+f.Size > e.cfg.UserQuota {
		return Grant{}, fmt.Errorf("%w: %d of %d bytes used", ErrQuota, used, e.cfg.UserQuota)
	}
	key, err := newKey(e.secret, user, f)
	if err != nil {
		return Grant{}, err
	}
	now := e.now()
	base := strings.TrimSuffix(e.base(), "/")
	put := Signed{Method: http.MethodPut, Key: key, MIME: f.MIME, Size: f.Size, SHA256: f.SHA256, Exp: now.Add(e.cfg.PutExpiry).Unix()}
	get := Signed{Method: http.MethodGet, Key: key, MIME: f.MIME, Exp: now.Add(e.cfg.GetExpiry).Unix()}
	return Grant{
		PutURL:     base + put.pathAndQuery(e.secret),
		PutHeaders: map[string]string{"Content-Type": f.MIME},
		URL:        base + get.pathAndQuery(e.secret),
		Key:        key,
		Expires:    put.Exp * 1000,
	}, nil
}

// Check implements Store.
func (e *Embedded) Check(raw string, f File) error {
	if err := e.cfg.checkFile(f); err != nil {
		return err
	}
	base := strings.TrimSuffix(e.base(), "/")
	rest, ok := strings.CutPrefix(raw, base+PathPrefix)
	if !ok {
		return fmt.Errorf("%w: not under %s%s", ErrNotIssued, base, PathPrefix)
	}
	path, query, _ := strings.Cut(rest, "?")
	s, err := ParseSigned(http.MethodGet, PathPrefix+path, query)
	if err != nil {
		return err
	}
	if s.MIME != f.MIME {
		return fmt.Errorf("%w: mime differs from the url's", ErrNotIssued)
	}
	if err := s.Verify(e.secret, e.now()); err != nil {
		return err
	}
	return verifyKey(e.secret, s.Key, f)
}

// path returns the file of a key; the key was parsed by parseKey (hex only).
func (e *Embedded) path(key string) string {
	owner, id, _ := strings.Cut(key, "/")
	return filepath.Join(e.dir, owner, id)
}

// usedLocked sums the bytes stored and being stored for owner.
func (e *Embedded) usedLocked(owner string) (int64, error) {
	ents, err := os.ReadDir(filepath.Join(e.dir, owner))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	used := e.reserved[owner]
	for _, de := range ents {
		if strings.HasPrefix(de.Name(), ".") {
			continue // temporary files are counted in reserved
		}
		if fi, err := de.Info(); err == nil {
			used += fi.Size()
		}
	}
	return used, nil
}

// Put stores the body of a PUT to a signed URL (already parsed by
// ParseSigned): it verifies the signature, the expiry and the key's MAC,
// reserves quota, writes at most s.Size+1 bytes to a temporary file, checks
// length and sha256 and renames it into place. A PUT of a key that exists
// already succeeds without writing (the key binds the sha256). Errors:
// ErrBadSignature, ErrExpired, ErrNotIssued, ErrTooLarge, ErrQuota,
// ErrChecksum, ErrUnavailable, ErrClosed.
func (e *Embedded) Put(s Signed, contentLength int64, body io.Reader) error {
	if s.Method != http.MethodPut {
		return ErrBadSignature
	}
	if err := s.Verify(e.secret, e.now()); err != nil {
		return err
	}
	if err := verifyKey(e.secret, s.Key, File{Size: s.Size, MIME: s.MIME, SHA256: s.SHA256}); err != nil {
		return err
	}
	if contentLength > s.Size {
		return fmt.Errorf("%w: %d bytes above the signed %d", ErrTooLarge, contentLength, s.Size)
	}
	final := e.path(s.Key)
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	owner, _, _ := strings.Cut(s.Key, "/")
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	used, err := e.usedLocked(owner)
	if err == nil && e.cfg.UserQuota > 0 && used+s.Size > e.cfg.UserQuota {
		err = fmt.Errorf("%w: %d of %d bytes used", ErrQuota, used, e.cfg.UserQuota)
	}
	if err == nil {
		e.reserved[owner] += s.Size
	}
	e.mu.Unlock()
	if err != nil {
		return err
	}
	defer func() {
		e.mu.Lock()
		if e.reserved[owner] -= s.Size; e.reserved[owner] == 0 {
			delete(e.reserved, owner)
		}
		e.mu.Unlock()
	}()
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(final), ".put-*")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, s.Size+1))
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = cerr
	}
	switch {
	case err != nil:
		return fmt.Errorf("%w: write: %v", ErrUnavailable, err)
	case n > s.Size:
		return fmt.Errorf("%w: body above the signed %d bytes", ErrTooLarge, s.Size)
	case n != s.Size || hex.EncodeToString(h.Sum(nil)) != s.SHA256:
		return fmt.Errorf("%w: got %d bytes", ErrChecksum, n)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("%w: rename: %v", ErrUnavailable, err)
	}
	e.log.Debug().Str(logfield.MediaKey, s.Key).Int64(logfield.MediaBytes, s.Size).Msg("media stored")
	return nil
}

// Open returns the file of a GET to a signed URL (parsed by ParseSigned)
// after checking signature and expiry. The caller closes it. Errors:
// ErrBadSignature, ErrExpired, ErrNotFound, ErrUnavailable.
func (e *Embedded) Open(s Signed) (*os.File, error) {
	if s.Method != http.MethodGet {
		return nil, ErrBadSignature
	}
	if err := s.Verify(e.secret, e.now()); err != nil {
		return nil, err
	}
	f, err := os.Open(e.path(s.Key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return f, nil
}

// Close implements Store; idempotent.
func (e *Embedded) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	return nil
}

// BaseURL is the default public base for an HTTP listener bound to addr.
func BaseURL(addr string) string { return (&url.URL{Scheme: "http", Host: addr}).String() }
