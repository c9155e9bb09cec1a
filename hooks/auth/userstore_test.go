package auth

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// mapUsers is a UserStore over a map: the hook's side of the contract
// (accounts.Service is tested with real raft in accounts/ and end to end in
// cmd/imqttd).
type mapUsers struct {
	mu    sync.Mutex
	users map[string]storeUser
	fail  bool
}

type storeUser struct {
	hash   []byte
	active bool
}

func (m *mapUsers) Lookup(name string) ([]byte, bool, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return nil, false, false, errors.New("store closed")
	}
	u, ok := m.users[name]
	return u.hash, u.active, ok, nil
}

func (m *mapUsers) set(name, password string, active bool) {
	var hash []byte
	if password != "" {
		hash, _ = bcrypt.GenerateFromPassword([]byte(password), testCost)
	}
	m.mu.Lock()
	m.users[name] = storeUser{hash: hash, active: active}
	m.mu.Unlock()
}

// TestUserStoreAuth: store users log in with the store's password; the store
// wins over the password file for a name both hold; a disabled user is
// refused 0x8A (3.1.1: 5) after the right password only, whatever
// authenticated them; file-only users keep working.
func TestUserStoreAuth(t *testing.T) {
	cfg, _ := passwordConfig(t, map[string]string{"filer": "file-pw", "both": "file-pw", "offfile": "file-pw"})
	us := &mapUsers{users: map[string]storeUser{}}
	us.set("alice", "store-pw", true)
	us.set("both", "store-pw", true)
	us.set("dis", "dis-pw", false)
	us.set("offfile", "", false) // a disabled token-only user, also in the file
	us.set("app", "", true)      // token-only
	tb := newTestBroker(t, cfg, func(o *brokerOpts) { o.users = us })

	for _, tc := range []struct {
		id, user, pw string
		code         byte
		reason       string
		identity     string
	}{
		{"s1", "alice", "store-pw", 0, "", "alice"},
		{"s2", "alice", "nope", 0x86, ReasonBadPassword, ""},
		{"s3", "filer", "file-pw", 0, "", "filer"},
		{"s4", "both", "store-pw", 0, "", "both"},
		{"s5", "both", "file-pw", 0x86, ReasonBadPassword, ""}, // the store wins
		{"s6", "dis", "dis-pw", 0x8A, ReasonUserDisabled, ""},
		{"s7", "dis", "wrong", 0x86, ReasonBadPassword, ""},
		{"s8", "app", "anything", 0x86, ReasonBadPassword, ""},
		{"s9", "nobody", "x", 0x86, ReasonUnknownUser, ""},
		{"s10", "offfile", "file-pw", 0x86, ReasonBadPassword, ""},
	} {
		expect5(t, tb, conn5{clientID: tc.id, username: str(tc.user), password: str(tc.pw)}, tc.code, tc.reason, tc.identity)
	}
	expect3(t, tb, conn3{clientID: "v3-dis", username: "dis", password: "dis-pw"}, v3NotAuthorized, ReasonUserDisabled, "")
	expect3(t, tb, conn3{clientID: "v3-alice", username: "alice", password: "store-pw"}, nil, "", "alice")

	// Disabling a file user in the store refuses them too.
	us.mu.Lock()
	us.users["filer"] = storeUser{active: false}
	us.mu.Unlock()
	expect5(t, tb, conn5{clientID: "f2", username: str("filer"), password: str("file-pw")}, 0x86, ReasonBadPassword, "")

	us.mu.Lock()
	us.fail = true
	us.mu.Unlock()
	expect5(t, tb, conn5{clientID: "f3", username: str("alice"), password: str("store-pw")}, 0x88, ReasonUserStore, "")
}

// TestUserStoreWithoutPasswordFile: with only the store, unknown users are
// unknown_user (not no_password_file) and the store's users log in.
func TestUserStoreWithoutPasswordFile(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BcryptCost = testCost
	us := &mapUsers{users: map[string]storeUser{}}
	us.set("alice", "store-pw", true)
	tb := newTestBroker(t, cfg, func(o *brokerOpts) { o.users = us })
	expect5(t, tb, conn5{clientID: "a", username: str("alice"), password: str("store-pw")}, 0, "", "alice")
	expect5(t, tb, conn5{clientID: "b", username: str("bob"), password: str("x")}, 0x86, ReasonUnknownUser, "")
}

// TestUserStoreThrottled: wrong passwords of a store user (no password file)
// pass the login throttle: past the free attempts one waits, a parallel one
// is refused as throttled without a check.
func TestUserStoreThrottled(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BcryptCost = testCost
	cfg.Throttle.FreeAttempts = 2
	cfg.Throttle.BaseDelay = 300 * time.Millisecond
	cfg.Throttle.MaxDelay = 2 * time.Second
	us := &mapUsers{users: map[string]storeUser{}}
	us.set("alice", "store-pw", true)
	tb := newTestBroker(t, cfg, func(o *brokerOpts) { o.users = us })
	wrong := func(i int) conn5 {
		return conn5{clientID: fmt.Sprintf("w%d", i), username: str("alice"), password: str("guess"), from: "127.0.0.2"}
	}
	start := time.Now()
	for i := range 3 { // 2 free, then 300ms after the last failure
		if code := connect5(t, tb, wrong(i)); code != 0x86 {
			t.Fatalf("wrong password %d: CONNACK 0x%02x", i, code)
		}
	}
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Fatalf("3 wrong passwords took %s: not throttled", took)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		connect5(t, tb, wrong(10))
	}()
	waitFor(t, "a waiting attempt", func() bool { return tb.hook.throttle.waitingNow() == 1 })
	expect5(t, tb, wrong(11), 0x86, ReasonThrottled, "")
	wg.Wait()
}
