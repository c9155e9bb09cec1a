package auth

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// testCost keeps bcrypt cheap under -race (cost 10 takes ~0.6 s per hash
// there); the code path is the same for every cost.
const testCost = bcrypt.MinCost

// writePasswordFile writes users (name -> password) hashed at testCost.
func writePasswordFile(t testing.TB, path string, users map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# test users\n")
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	slices.Sort(names)
	for _, u := range names {
		h, err := bcrypt.GenerateFromPassword([]byte(users[u]), testCost)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(u + ":" + string(h) + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newTestPasswordFile(t *testing.T) *PasswordFile {
	t.Helper()
	pf, err := OpenOrCreatePasswordFile(filepath.Join(t.TempDir(), "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pf.SetCost(testCost); err != nil {
		t.Fatal(err)
	}
	return pf
}

func TestLoadMissingPasswordFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope")
	_, err := LoadPasswordFile(path)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("LoadPasswordFile(missing) = %v, want ErrNotExist naming the path", err)
	}
	pf, err := OpenOrCreatePasswordFile(path)
	if err != nil {
		t.Fatalf("OpenOrCreatePasswordFile(missing) = %v", err)
	}
	if pf.Len() != 0 {
		t.Fatalf("new file has %d users", pf.Len())
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenOrCreate wrote the file before Save: %v", err)
	}
}

func TestPasswordFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "passwd")
	orig := "# imqtt users\n\n# ops team\n"
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	pf, err := LoadPasswordFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pf.SetCost(testCost); err != nil {
		t.Fatal(err)
	}
	for u, p := range map[string]string{"carol": "c-pass", "alice": "a-pass", "org/bob": "b-pass"} {
		if err := pf.Set(u, p); err != nil {
			t.Fatalf("Set(%q): %v", u, err)
		}
	}
	if err := pf.Set("alice", "a-pass-2"); err != nil { // replace in place
		t.Fatal(err)
	}
	if err := pf.Remove("carol"); err != nil {
		t.Fatal(err)
	}
	if err := pf.Remove("carol"); !errors.Is(err, ErrUnknownUser) {
		t.Fatalf("Remove(absent) = %v, want ErrUnknownUser", err)
	}
	if err := pf.Save(); err != nil {
		t.Fatal(err)
	}

	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode after Save = %v, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), orig) {
		t.Errorf("comments not kept:\n%s", data)
	}
	if strings.Contains(string(data), "a-pass") || strings.Contains(string(data), "b-pass") {
		t.Fatal("file contains a plain-text password")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after Save, want 1 (temp file left?)", len(entries))
	}

	back, err := LoadPasswordFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := back.Users(), []string{"alice", "org/bob"}; !slices.Equal(got, want) {
		t.Fatalf("Users() = %v, want %v", got, want)
	}
	if !back.Verify("alice", "a-pass-2") || back.Verify("alice", "a-pass") {
		t.Error("alice's password was not replaced")
	}
	if !back.Verify("org/bob", "b-pass") {
		t.Error("bob does not verify after reload")
	}
	if back.Verify("carol", "c-pass") {
		t.Error("removed user still verifies")
	}
}

func TestPasswordFileSaveIsAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	writePasswordFile(t, path, map[string]string{"alice": "old"})
	before, _ := os.ReadFile(path)
	oldFD, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer oldFD.Close()
	oldInfo, _ := oldFD.Stat()

	pf, err := LoadPasswordFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_ = pf.SetCost(testCost)
	if err := pf.Set("bob", "new"); err != nil {
		t.Fatal(err)
	}
	if err := pf.Save(); err != nil {
		t.Fatal(err)
	}
	// Save replaced the file by rename: a reader that opened the old file
	// still reads all of the old content; the path names a new inode.
	oldContent, err := io.ReadAll(oldFD)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(oldContent, before) {
		t.Fatal("old file was modified in place")
	}
	newInfo, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(oldInfo, newInfo) {
		t.Fatal("Save wrote in place instead of renaming a new file")
	}
}

func TestPasswordFileSaveFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "passwd")
	writePasswordFile(t, path, map[string]string{"alice": "pw"})
	pf, err := LoadPasswordFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	// Make the rename fail: replace the file by a non-empty directory.
	moved := path + ".bak"
	if err := os.Rename(path, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := pf.Save(); err == nil {
		t.Fatal("Save over a directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temp file %s left behind", e.Name())
		}
	}
	if after, _ := os.ReadFile(moved); !bytes.Equal(before, after) {
		t.Fatal("old content changed")
	}
}

func TestPasswordFileSetValidation(t *testing.T) {
	pf := newTestPasswordFile(t)
	for _, u := range []string{"", "a+b", "a#", "a:b", " a", "a\x00"} {
		if err := pf.Set(u, "pw"); !errors.Is(err, ErrInvalidUsername) {
			t.Errorf("Set(%q) = %v, want ErrInvalidUsername", u, err)
		}
	}
	if err := pf.Set("alice", ""); !errors.Is(err, ErrInvalidPassword) {
		t.Errorf("Set(empty password) = %v, want ErrInvalidPassword", err)
	}
	if err := pf.Set("alice", strings.Repeat("x", 73)); !errors.Is(err, ErrInvalidPassword) {
		t.Errorf("Set(73-byte password) = %v, want ErrInvalidPassword", err)
	}
	if err := pf.SetCost(3); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("SetCost(3) = %v, want ErrInvalidConfig", err)
	}
	if pf.Len() != 0 {
		t.Fatalf("invalid Set calls stored %d users", pf.Len())
	}
}

func TestPasswordFileLoadParseError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(path, []byte("# ok\nalice:"+hashA+"\nbob:plaintext\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadPasswordFile(path)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != path || pe.Line != 3 || !errors.Is(err, ErrUnsupportedHash) {
		t.Fatalf("err = %v, want ParseError at %s:3 ErrUnsupportedHash", err, path)
	}
	if strings.Contains(err.Error(), "plaintext") {
		t.Fatal("error echoes the line")
	}
}

// TestVerifyUnknownUserRunsBcrypt shows that the unknown-user path costs one
// bcrypt comparison, like the known-user path: it compares against the dummy
// hash, whose cost is the file's highest.
func TestVerifyUnknownUserRunsBcrypt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	writePasswordFile(t, path, map[string]string{"alice": "pw"})
	pf, err := LoadPasswordFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var compared [][]byte
	pf.compare = func(hash, pw []byte) error {
		mu.Lock()
		compared = append(compared, hash)
		mu.Unlock()
		return bcrypt.CompareHashAndPassword(hash, pw)
	}
	cases := []struct {
		user, pw string
		ok       bool
	}{
		{"alice", "pw", true},
		{"alice", "wrong", false},
		{"mallory", "pw", false},
		{"mallory", "", false},
		{"alice", strings.Repeat("p", 100), false},
	}
	for _, c := range cases {
		compared = nil
		if got := pf.Verify(c.user, c.pw); got != c.ok {
			t.Errorf("Verify(%q) = %v, want %v", c.user, got, c.ok)
		}
		if len(compared) != 1 {
			t.Fatalf("Verify(%q) ran %d bcrypt comparisons, want 1", c.user, len(compared))
		}
		if c.user == "mallory" {
			if !bytes.Equal(compared[0], pf.dummy) {
				t.Error("unknown user not compared against the dummy hash")
			}
			if cost, _ := bcrypt.Cost(pf.dummy); cost != testCost {
				t.Errorf("dummy cost = %d, want the file's cost %d", cost, testCost)
			}
		}
	}
}

func TestPasswordFileConcurrentUse(t *testing.T) {
	pf := newTestPasswordFile(t)
	if err := pf.Set("alice", "pw"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 5 {
				if !pf.Verify("alice", "pw") {
					t.Error("alice does not verify")
				}
				_ = pf.Users()
			}
		})
		wg.Go(func() {
			u := "user" + string(rune('a'+i))
			if err := pf.Set(u, "x"); err != nil {
				t.Error(err)
			}
			if err := pf.Remove(u); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := pf.Users(); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("Users() = %v", got)
	}
}
