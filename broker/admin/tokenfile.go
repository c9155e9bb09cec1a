package admin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// generatedTokenBytes is the entropy of a generated admin token (hex-encoded:
// 64 characters).
const generatedTokenBytes = 32

// maxTokenFileSize bounds what is read from a token file.
const maxTokenFileSize = 4096

// loadOrCreateTokenFile returns the token held in path, creating the file with
// a fresh random token first when it does not exist (created is then true).
//
// A new file is written next to path under a temporary name (mode 0600),
// synced, then hard-linked to path, so that a crash never leaves a partial
// token and an existing file is never overwritten. An existing file must be a
// regular file (not a symbolic link) owned by this process's user with no
// group or other permission bits: otherwise the error wraps
// ErrTokenFileUnsafe and the node does not start (a looser file may have been
// read or replaced by someone else; fixing it silently would hide that). The
// token is never put in an error.
func loadOrCreateTokenFile(path string) (token string, created bool, err error) {
	tok, err := readOwnTokenFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, false, err
	}
	raw := make([]byte, generatedTokenBytes)
	if _, err := io.ReadFull(rand.Reader, raw); err != nil {
		return "", false, fmt.Errorf("%q: generate token: %w", path, err)
	}
	tok = hex.EncodeToString(raw)
	if err := writeNewTokenFile(path, tok); err != nil {
		if errors.Is(err, fs.ErrExist) { // created concurrently: use that one
			tok, err = readOwnTokenFile(path)
			return tok, false, err
		}
		return "", false, err
	}
	return tok, true, nil
}

// readOwnTokenFile opens path without following a symbolic link, checks its
// type, owner and mode (checkOwnFile) and returns the trimmed, valid token.
func readOwnTokenFile(path string) (string, error) {
	f, err := openNoFollow(path)
	if err != nil {
		if isSymlinkErr(path, err) {
			return "", fmt.Errorf("%q: %w: a symbolic link", path, ErrTokenFileUnsafe)
		}
		return "", fmt.Errorf("%q: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("%q: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%q: %w: not a regular file (%s)", path, ErrTokenFileUnsafe, fi.Mode().Type())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%q: %w: mode %s, want 0600 (chmod 600 %s)", path, ErrTokenFileUnsafe, perm, path)
	}
	if err := checkOwner(fi); err != nil {
		return "", fmt.Errorf("%q: %w: %w", path, ErrTokenFileUnsafe, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFileSize))
	if err != nil {
		return "", fmt.Errorf("%q: %w", path, err)
	}
	tok := strings.TrimSpace(string(b))
	if err := checkToken(tok); err != nil {
		return "", fmt.Errorf("%q: %w", path, err)
	}
	return tok, nil
}

// writeNewTokenFile writes tok to path, failing with fs.ErrExist if path
// exists. The data reaches the disk (file and directory synced) before it
// returns.
func writeNewTokenFile(path, tok string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".admin.token-*") // mode 0600
	if err != nil {
		return fmt.Errorf("%q: create: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	_, err = tmp.WriteString(tok + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%q: write: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("%q: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// isSymlinkErr reports whether opening path failed because it is a symbolic
// link (O_NOFOLLOW answers ELOOP).
func isSymlinkErr(path string, err error) bool {
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	fi, lerr := os.Lstat(path)
	return lerr == nil && fi.Mode()&fs.ModeSymlink != 0
}
