package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imqtt/imqtt/accounts"
	"github.com/imqtt/imqtt/broker/adminapi"
)

// connectUser connects a paho v5 client of user to nd and returns it, or the
// CONNACK reason code of a refusal (0 with the client on success).
func connectUser(t *testing.T, nd *node, id, user, pass string) (*v5client, byte) {
	t.Helper()
	conn, err := dialMQTT(t, "tcp", nd.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connectV5(t, conn, id, user, pass, true)
	if err != nil {
		if c != nil && c.connack != nil {
			return nil, c.connack.ReasonCode
		}
		t.Fatalf("connect %s as %s: %v", id, user, err)
	}
	return c, 0
}

// expectKicked waits for a server DISCONNECT 0x98 (Administrative action).
func expectKicked(t *testing.T, c *v5client, what string) {
	t.Helper()
	select {
	case d := <-c.discon:
		if d.ReasonCode != 0x98 {
			t.Fatalf("%s: DISCONNECT 0x%02x, want 0x98", what, d.ReasonCode)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no DISCONNECT within 10s", what)
	}
}

// userAPI calls the user admin API on nd and decodes a JSON answer into out
// (when not nil), failing unless the status is want.
func userAPI(t *testing.T, nd *node, method, path, body string, want int, out any) {
	t.Helper()
	status, b := nd.adminAPI(t, method, path, body)
	if status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, status, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %q: %v", method, path, b, err)
		}
	}
}

// TestClusterUsers is issue 19's user acceptance against three real imqttd
// processes: a user created through the admin API on node 1 connects to node 3
// at once; disabling them kicks their devices on node 2 and node 3 (paho v5
// sees DISCONNECT 0x98) and refuses new connects (0x8A); a deleted user's
// devices are kicked and refused (0x86); password-file users keep working.
func TestClusterUsers(t *testing.T) {
	dir := t.TempDir()
	passwd, aclFile := writeUsers(t, dir, []string{"filer"})
	cfg := writeFile(t, dir, "imqttd.yaml", fmt.Sprintf("auth:\n  password_file: %s\n  bcrypt_cost: 4\nacl:\n  file: %s\n", passwd, aclFile))
	nodes := startClusterArgs(t, 3, "--config", cfg)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]

	var u accounts.User
	userAPI(t, n1, http.MethodPost, "/api/v1/users", `{"name":"alice","password":"alice-pw","roles":["admin"]}`, http.StatusCreated, &u)
	if u.Name != "alice" || u.State != accounts.StateActive || !u.HasPassword || !u.HasRole("admin") {
		t.Fatalf("created %+v", u)
	}
	// Node 3 knows alice as soon as it applied the entry the API waited for.
	start := time.Now()
	var a3 *v5client
	for {
		var code byte
		if a3, code = connectUser(t, n3, "alice-n3", "alice", "alice-pw"); code == 0 {
			break
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("alice refused on node 3 (0x%02x) 3s after the create", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("alice connected to node 3 %s after the create returned on node 1", time.Since(start))
	a2, code := connectUser(t, n2, "alice-n2", "alice", "alice-pw")
	if code != 0 {
		t.Fatalf("alice on node 2: 0x%02x", code)
	}
	if _, code := connectUser(t, n2, "alice-bad", "alice", "wrong"); code != 0x86 {
		t.Fatalf("wrong password: 0x%02x, want 0x86", code)
	}
	userAPI(t, n2, http.MethodPost, "/api/v1/users", `{"name":"alice","password":"x"}`, http.StatusConflict, nil)
	userAPI(t, n2, http.MethodPost, "/api/v1/users", `{"name":"a+b"}`, http.StatusBadRequest, nil)
	userAPI(t, n2, http.MethodPost, "/api/v1/users", `{"name":"x","bogus":1}`, http.StatusBadRequest, nil)

	// Disable through node 1: every node kicks alice's devices.
	userAPI(t, n1, http.MethodPatch, "/api/v1/users/alice", `{"state":"disabled"}`, http.StatusOK, &u)
	if u.State != accounts.StateDisabled {
		t.Fatalf("after disable %+v", u)
	}
	expectKicked(t, a2, "alice on node 2")
	expectKicked(t, a3, "alice on node 3")
	for _, nd := range nodes {
		if _, code := connectUser(t, nd, "alice-again", "alice", "alice-pw"); code != 0x8A {
			t.Fatalf("disabled alice: 0x%02x, want 0x8A", code)
		}
	}
	// Enabled again (through node 3, a follower or not), she connects.
	userAPI(t, n3, http.MethodPatch, "/api/v1/users/alice", `{"state":"active","password":"new-pw"}`, http.StatusOK, nil)
	waitSynced(t, nodes...)
	a1, code := connectUser(t, n1, "alice-n1", "alice", "new-pw")
	if code != 0 {
		t.Fatalf("re-enabled alice: 0x%02x", code)
	}

	// Delete: kicked and refused everywhere.
	userAPI(t, n2, http.MethodDelete, "/api/v1/users/alice", "", http.StatusOK, nil)
	expectKicked(t, a1, "deleted alice on node 1")
	waitSynced(t, nodes...)
	if _, code := connectUser(t, n3, "alice-gone", "alice", "new-pw"); code != 0x86 {
		t.Fatalf("deleted alice: 0x%02x, want 0x86", code)
	}
	userAPI(t, n1, http.MethodGet, "/api/v1/users/alice", "", http.StatusNotFound, nil)

	// Password-file users keep working next to the store.
	if _, code := connectUser(t, n2, "filer-n2", "filer", "filer-pw"); code != 0 {
		t.Fatalf("password-file user: 0x%02x", code)
	}

	// Listing with paging and a filter.
	for _, name := range []string{"u1", "u2", "u3"} {
		userAPI(t, n1, http.MethodPost, "/api/v1/users", `{"name":"`+name+`"}`, http.StatusCreated, nil)
	}
	waitSynced(t, nodes...)
	var page adminapi.Page[accounts.User]
	userAPI(t, n3, http.MethodGet, "/api/v1/users?limit=2&prefix=u", "", http.StatusOK, &page)
	if len(page.Items) != 2 || page.Items[0].Name != "u1" || page.NextCursor == "" {
		t.Fatalf("first page %+v", page)
	}
	cursor := page.NextCursor
	page = adminapi.Page[accounts.User]{} // next_cursor is absent on the last page
	userAPI(t, n3, http.MethodGet, "/api/v1/users?limit=2&prefix=u&cursor="+cursor, "", http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].Name != "u3" || page.NextCursor != "" {
		t.Fatalf("second page %+v", page)
	}

	// The ctl front end: show a user and disable one.
	out, errOut, rc := adminRun(t, n2, "ctl", "user", "show", "u1")
	if rc != 0 || !strings.Contains(out, "u1") || !strings.Contains(out, "active") {
		t.Fatalf("ctl user show: %d %q %q", rc, out, errOut)
	}
	if out, errOut, rc := adminRun(t, n2, "ctl", "user", "disable", "u2"); rc != 0 {
		t.Fatalf("ctl user disable: %d %q %q", rc, out, errOut)
	}
	out, errOut, rc = adminRun(t, n1, "ctl", "user", "list", "--state", "disabled")
	if rc != 0 || !strings.Contains(out, "u2") || strings.Contains(out, "u1") {
		t.Fatalf("ctl user list --state disabled: %d %q %q", rc, out, errOut)
	}
}
