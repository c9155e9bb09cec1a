package accounts

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestCreateGetLookup(t *testing.T) {
	h := newHarness(t)
	u, err := h.svc.Create(bg(), NewUser{Name: "alice", Password: "s3cret", Roles: []string{RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "alice" || u.State != StateActive || !u.HasPassword || !u.HasRole(RoleAdmin) || u.CreatedAt.IsZero() {
		t.Fatalf("created %+v", u)
	}
	got, err := h.svc.Get("alice")
	if err != nil || got.Name != "alice" || !slices.Equal(got.Roles, []string{"admin"}) {
		t.Fatalf("get: %+v, %v", got, err)
	}
	hash, active, found, err := h.svc.Lookup("alice")
	if err != nil || !found || !active {
		t.Fatalf("lookup: found %v active %v err %v", found, active, err)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte("s3cret")) != nil {
		t.Fatal("stored hash does not match the password")
	}
	if c, _ := bcrypt.Cost(hash); c != 4 {
		t.Fatalf("bcrypt cost %d, want the configured 4", c)
	}
	if _, _, found, err := h.svc.Lookup("bob"); found || err != nil {
		t.Fatalf("lookup of unknown user: found %v err %v", found, err)
	}
	if !h.svc.HasRole("alice", RoleAdmin) || h.svc.HasRole("bob", RoleAdmin) {
		t.Fatal("HasRole")
	}
	if _, err := h.svc.Create(bg(), NewUser{Name: "alice", Password: "x"}); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	// A token-only user has no hash.
	if _, err := h.svc.Create(bg(), NewUser{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	if hash, _, found, _ := h.svc.Lookup("app"); !found || hash != nil {
		t.Fatalf("token-only user: found %v hash %q", found, hash)
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	h := newHarness(t)
	long := string(make([]byte, 73))
	for _, tc := range []struct {
		nu   NewUser
		want error
	}{
		{NewUser{Name: ""}, ErrInvalidName},
		{NewUser{Name: "a+b"}, ErrInvalidName},
		{NewUser{Name: "a:b"}, ErrInvalidName},
		{NewUser{Name: " a"}, ErrInvalidName},
		{NewUser{Name: "a", Password: long}, ErrInvalidPassword},
		{NewUser{Name: "a", State: "gone"}, ErrInvalidState},
		{NewUser{Name: "a", Roles: []string{"Admin"}}, ErrInvalidRole},
		{NewUser{Name: "a", Roles: []string{"x", "x"}}, ErrInvalidRole},
		{NewUser{Name: "a", Roles: []string{""}}, ErrInvalidRole},
	} {
		if _, err := h.svc.Create(bg(), tc.nu); !errors.Is(err, tc.want) {
			t.Errorf("create %+v: %v, want %v", tc.nu, err, tc.want)
		}
	}
	if users, _, err := h.svc.List(ListOptions{}); err != nil || len(users) != 0 {
		t.Fatalf("refused creates stored something: %+v %v", users, err)
	}
}

func TestUpdateAndDelete(t *testing.T) {
	h := newHarness(t)
	if _, err := h.svc.Create(bg(), NewUser{Name: "bob", Password: "one"}); err != nil {
		t.Fatal(err)
	}
	u, err := h.svc.UpdateUser(bg(), "bob", Update{Password: ptr("two"), State: ptr(StateDisabled), Roles: ptr([]string{"admin", "ops"})})
	if err != nil {
		t.Fatal(err)
	}
	if u.State != StateDisabled || !slices.Equal(u.Roles, []string{"admin", "ops"}) {
		t.Fatalf("updated %+v", u)
	}
	hash, active, _, _ := h.svc.Lookup("bob")
	if active || bcrypt.CompareHashAndPassword(hash, []byte("two")) != nil {
		t.Fatalf("after update: active %v, new password matches: %v", active, bcrypt.CompareHashAndPassword(hash, []byte("two")))
	}
	if h.svc.HasRole("bob", RoleAdmin) {
		t.Fatal("a disabled user holds no role")
	}
	if u, err = h.svc.UpdateUser(bg(), "bob", Update{ClearPassword: true, State: ptr(StateActive)}); err != nil || u.HasPassword {
		t.Fatalf("clear password: %+v %v", u, err)
	}
	if _, err := h.svc.UpdateUser(bg(), "bob", Update{ClearPassword: true, Password: ptr("x")}); !errors.Is(err, ErrInvalidPassword) {
		t.Fatalf("clear and set: %v", err)
	}
	if _, err := h.svc.UpdateUser(bg(), "nobody", Update{State: ptr(StateDisabled)}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	if err := h.svc.Delete(bg(), "bob"); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Delete(bg(), "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := h.svc.Get("bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	// The watcher saw create, two updates, delete, in order.
	got := h.waitChanges(4)
	want := []Change{{Name: "bob", State: StateActive}, {Name: "bob", State: StateDisabled}, {Name: "bob", State: StateActive}, {Name: "bob", Deleted: true}}
	if !slices.Equal(got[:4], want) {
		t.Fatalf("changes %+v, want %+v", got, want)
	}
	if !got[1].Revoked() || !got[3].Revoked() || got[0].Revoked() {
		t.Fatal("Revoked")
	}
}

// TestConcurrentCreateOneWins: the create-if-absent guard holds at apply
// time, so of many concurrent creates of one name exactly one succeeds.
func TestConcurrentCreateOneWins(t *testing.T) {
	h := newHarness(t)
	for round := range 5 {
		name := fmt.Sprintf("u%d", round)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, exists := 0, 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := h.svc.Create(bg(), NewUser{Name: name, Roles: []string{fmt.Sprintf("r%d", i)}})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, ErrExists):
					exists++
				default:
					t.Errorf("create: %v", err)
				}
			}()
		}
		wg.Wait()
		if won != 1 || exists != 7 {
			t.Fatalf("round %d: %d won, %d exists", round, won, exists)
		}
	}
}

func TestListPagingAndFilters(t *testing.T) {
	h := newHarness(t)
	for i := range 7 {
		nu := NewUser{Name: fmt.Sprintf("user%02d", i)}
		if i%2 == 0 {
			nu.Roles = []string{"admin"}
		}
		if i%3 == 0 {
			nu.State = StateDisabled
		}
		if _, err := h.svc.Create(bg(), nu); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.svc.Create(bg(), NewUser{Name: "zed"}); err != nil {
		t.Fatal(err)
	}
	var names []string
	after := ""
	for {
		page, next, err := h.svc.List(ListOptions{After: after, Limit: 3, Prefix: "user"})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			names = append(names, u.Name)
		}
		if next == "" {
			break
		}
		after = next
	}
	if fmt.Sprint(names) != "[user00 user01 user02 user03 user04 user05 user06]" {
		t.Fatalf("paged names %v", names)
	}
	page, _, err := h.svc.List(ListOptions{State: StateDisabled, Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range page {
		got = append(got, u.Name)
	}
	if fmt.Sprint(got) != "[user00 user06]" {
		t.Fatalf("disabled admins %v", got)
	}
	if _, _, err := h.svc.List(ListOptions{Limit: MaxListLimit + 1}); !errors.Is(err, ErrInvalidQuery) {
		t.Fatalf("limit too big: %v", err)
	}
	if _, _, err := h.svc.List(ListOptions{State: "x"}); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("bad state filter: %v", err)
	}
}

func TestImport(t *testing.T) {
	h := newHarness(t)
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), 4)
	if _, err := h.svc.Import(bg(), "carol", hash); err != nil {
		t.Fatal(err)
	}
	got, _, _, _ := h.svc.Lookup("carol")
	if string(got) != string(hash) {
		t.Fatal("import did not keep the hash")
	}
	if _, err := h.svc.Import(bg(), "carol", hash); !errors.Is(err, ErrExists) {
		t.Fatalf("second import: %v", err)
	}
	if _, err := h.svc.Import(bg(), "dave", []byte("plain")); !errors.Is(err, ErrInvalidPassword) {
		t.Fatalf("import of a non-bcrypt hash: %v", err)
	}
}

func TestClosedService(t *testing.T) {
	h := newHarness(t)
	h.svc.Close()
	if _, err := h.svc.Create(bg(), NewUser{Name: "x"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("create after close: %v", err)
	}
}
