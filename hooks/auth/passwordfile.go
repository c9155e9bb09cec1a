package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// maxPasswordLen is the longest password bcrypt hashes without truncation.
const maxPasswordLen = 72

// PasswordFile is a set of users and their bcrypt password hashes, kept in a
// text file in the spirit of mosquitto_passwd: one "username:hash" per line,
// '#' comments and blank lines allowed (and kept by Save).
//
// A PasswordFile is safe for concurrent use. Verify runs bcrypt outside the
// lock, so many clients authenticate in parallel. Set, Remove and Save change
// only the in-memory set and the file named at load time; a running broker sees
// a change after Hook.Reload. Two processes saving the same file at once: the
// last rename wins.
type PasswordFile struct {
	path string

	mu    sync.RWMutex
	lines []pwLine
	index map[string]int // user -> position in lines
	cost  int            // bcrypt cost for Set

	// dummy is a bcrypt hash of a random password, compared against when the
	// user does not exist so that Verify costs the same either way. Its cost
	// is the highest cost found in the file at load. For a file without users
	// it is made on first use at the Set cost: no user exists then, so the
	// one slower call reveals nothing.
	dummyOnce sync.Once
	dummy     []byte
	dummyErr  error

	// compare is bcrypt.CompareHashAndPassword; tests observe calls through it.
	compare func(hash, password []byte) error
}

// LoadPasswordFile reads and parses the password file at path. A missing file
// is an error (errors.Is(err, fs.ErrNotExist)); use OpenOrCreatePasswordFile to
// start from an empty set. Parse errors are *ParseError values naming the file
// and the line.
func LoadPasswordFile(path string) (*PasswordFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read password file %q: %w", path, err)
	}
	return newPasswordFile(path, data)
}

// OpenOrCreatePasswordFile is LoadPasswordFile, except that a missing file
// yields an empty set bound to path. Nothing is written until Save, which
// creates the file (the directory must exist).
func OpenOrCreatePasswordFile(path string) (*PasswordFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newPasswordFile(path, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("read password file %q: %w", path, err)
	}
	return newPasswordFile(path, data)
}

func newPasswordFile(path string, data []byte) (*PasswordFile, error) {
	lines, index, err := parsePasswordFile(path, data)
	if err != nil {
		return nil, err
	}
	p := &PasswordFile{
		path:    path,
		lines:   lines,
		index:   index,
		cost:    DefaultBcryptCost,
		compare: bcrypt.CompareHashAndPassword,
	}
	dummyCost := 0
	for _, l := range lines {
		if l.user != "" {
			dummyCost = max(dummyCost, hashCost(l.hash))
		}
	}
	if dummyCost > 0 {
		if err := p.makeDummy(dummyCost); err != nil {
			return nil, fmt.Errorf("password file %q: %w", path, err)
		}
	}
	return p, nil
}

// makeDummy sets the dummy hash once, at the given cost.
func (p *PasswordFile) makeDummy(cost int) error {
	p.dummyOnce.Do(func() {
		var pw [32]byte
		_, _ = rand.Read(pw[:]) // crypto/rand.Read never fails (Go >= 1.24)
		p.dummy, p.dummyErr = bcrypt.GenerateFromPassword(pw[:], cost)
		if p.dummyErr != nil {
			p.dummyErr = fmt.Errorf("dummy hash: %w", p.dummyErr)
		}
	})
	return p.dummyErr
}

// Path returns the file the set was loaded from and Save writes to.
func (p *PasswordFile) Path() string { return p.path }

// SetCost sets the bcrypt cost Set uses for new hashes (DefaultBcryptCost until
// called). Existing hashes keep their cost. The error wraps ErrInvalidConfig.
func (p *PasswordFile) SetCost(cost int) error {
	if cost < minBcryptCost || cost > maxBcryptCost {
		return fmt.Errorf("%w: bcrypt cost %d outside %d..%d", ErrInvalidConfig, cost, minBcryptCost, maxBcryptCost)
	}
	p.mu.Lock()
	p.cost = cost
	p.mu.Unlock()
	return nil
}

// Set adds user with password, or replaces the password of an existing user
// (in place, so the file keeps its order). The username must pass
// ValidateUsername; the password must be 1..72 bytes (ErrInvalidPassword).
// Set changes memory only; call Save to write the file.
func (p *PasswordFile) Set(user, password string) error {
	if err := ValidateUsername(user); err != nil {
		return err
	}
	if password == "" {
		return fmt.Errorf("%w: empty", ErrInvalidPassword)
	}
	if len(password) > maxPasswordLen {
		return fmt.Errorf("%w: longer than %d bytes (bcrypt limit)", ErrInvalidPassword, maxPasswordLen)
	}
	p.mu.RLock()
	cost := p.cost
	p.mu.RUnlock()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if i, ok := p.index[user]; ok {
		p.lines[i].hash = hash
		return nil
	}
	p.index[user] = len(p.lines)
	p.lines = append(p.lines, pwLine{user: user, hash: hash})
	return nil
}

// Remove deletes user; ErrUnknownUser if absent. Memory only; call Save.
func (p *PasswordFile) Remove(user string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.index[user]
	if !ok {
		return fmt.Errorf("remove %q: %w", user, ErrUnknownUser)
	}
	p.lines = slices.Delete(p.lines, i, i+1)
	delete(p.index, user)
	for j := i; j < len(p.lines); j++ {
		if u := p.lines[j].user; u != "" {
			p.index[u] = j
		}
	}
	return nil
}

// Users returns the usernames, sorted.
func (p *PasswordFile) Users() []string {
	p.mu.RLock()
	users := make([]string, 0, len(p.index))
	for u := range p.index {
		users = append(users, u)
	}
	p.mu.RUnlock()
	slices.Sort(users)
	return users
}

// Len returns the number of users.
func (p *PasswordFile) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.index)
}

// Verify reports whether password is user's password. It always runs one
// bcrypt comparison: against the user's hash, or, when the user does not
// exist, against a dummy hash of the file's highest cost, so that the time
// taken does not tell whether the user exists.
func (p *PasswordFile) Verify(user, password string) bool {
	ok, _ := p.verify(user, password)
	return ok
}

// verify is Verify that also says whether the user exists (for the refusal
// reason in the log; never sent to the client).
func (p *PasswordFile) verify(user, password string) (ok, known bool) {
	p.mu.RLock()
	var hash []byte
	if i, found := p.index[user]; found {
		hash, known = p.lines[i].hash, true
	}
	cost := p.cost
	p.mu.RUnlock()
	if !known {
		if err := p.makeDummy(cost); err != nil {
			return false, false
		}
		hash = p.dummy
	}
	// bcrypt rejects passwords over 72 bytes without hashing; hash a prefix so
	// the cost is paid anyway, then refuse.
	pw := []byte(password)
	tooLong := len(pw) > maxPasswordLen
	if tooLong {
		pw = pw[:maxPasswordLen]
	}
	err := p.compare(hash, pw)
	return err == nil && known && !tooLong && password != "", known
}

// Save writes the set to the file atomically: a temporary file in the same
// directory, mode 0600, fsync, rename over the old file, fsync of the
// directory. Readers see the old content or the new, never a partial file.
func (p *PasswordFile) Save() error {
	p.mu.RLock()
	data := formatPasswordFile(p.lines)
	p.mu.RUnlock()
	return writeFileAtomic(p.path, data, 0o600)
}

// writeFileAtomic replaces path with data, durably and atomically.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save %q: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(mode); err != nil {
		return fmt.Errorf("save %q: chmod: %w", path, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("save %q: write: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("save %q: fsync: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("save %q: close: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save %q: rename: %w", path, err)
	}
	// The rename is durable once the directory entry is.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
