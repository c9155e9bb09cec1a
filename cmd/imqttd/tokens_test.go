package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// minted is the mint response of the admin API.
type minted struct {
	Token   string    `json:"token"`
	ID      string    `json:"id"`
	User    string    `json:"user"`
	Device  string    `json:"device"`
	Expires time.Time `json:"expires"`
}

// mintToken mints a token for user through nd's admin API, first creating
// user in the user store as a token-only user when it is not there (a mint
// is refused for users the store does not hold).
func mintToken(t *testing.T, nd *node, user, body string) minted {
	t.Helper()
	if code, b := nd.adminAPI(t, http.MethodPost, "/api/v1/users", `{"name":"`+user+`"}`); code != http.StatusCreated && code != http.StatusConflict {
		t.Fatalf("create %s: %d %s", user, code, b)
	}
	code, b := nd.adminAPI(t, http.MethodPost, "/api/v1/users/"+user+"/tokens", body)
	if code != http.StatusCreated {
		t.Fatalf("mint: %d %s", code, b)
	}
	var m minted
	if err := json.Unmarshal(b, &m); err != nil || m.Token == "" || m.ID == "" || m.User != user {
		t.Fatalf("mint response %s: %v", b, err)
	}
	return m
}

// dialToken connects a paho v5 client to nd with token as the password
// (no user name) and returns it with its CONNACK code.
func dialToken(t *testing.T, nd *node, id, token string) (*v5client, byte) {
	t.Helper()
	conn, err := dialMQTT(t, "tcp", nd.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connectV5(t, conn, id, "", token, true)
	if c.connack == nil {
		t.Fatalf("connect %s: no connack: %v", id, err)
	}
	return c, c.connack.ReasonCode
}

// awaitDisconnect waits for the server's DISCONNECT and returns its code.
func (c *v5client) awaitDisconnect(t *testing.T, within time.Duration) byte {
	t.Helper()
	select {
	case d := <-c.discon:
		return d.ReasonCode
	case <-time.After(within):
		t.Fatalf("no DISCONNECT within %s", within)
		return 0
	}
}

// TestTokensSingleNode: a token minted through the admin API connects with
// paho v5 (password only) and mosquitto_pub 3.1.1 (user + password); one
// minted with a 2 s ttl ends its connection at expiry (DISCONNECT 0xA0,
// not before); bad requests get precise answers.
func TestTokensSingleNode(t *testing.T) {
	n := startNode(t, "", loopbackFlags...)
	tok := mintToken(t, n, "alice", `{"device":"phone-1","ttl":"1h"}`)
	if tok.Device != "phone-1" || time.Until(tok.Expires) < 59*time.Minute {
		t.Fatalf("mint %+v", tok)
	}
	if strings.Contains(n.log(), tok.Token) {
		t.Fatal("the token reached the log")
	}
	_, code := dialToken(t, n, "tok-v5", tok.Token)
	if code != 0 {
		t.Fatalf("v5 connack 0x%02x", code)
	}
	if code, b := n.adminAPI(t, http.MethodGet, "/api/v1/clients/tok-v5", ""); code != http.StatusOK || !strings.Contains(string(b), `"user":"alice"`) {
		t.Fatalf("client tok-v5: %d %s", code, b)
	}
	host, port := hostPort(t, n.addr("tcp"))
	if out, err := runCmd(t, 10*time.Second, nil, "mosquitto_pub", "-V", "mqttv311", "-h", host, "-p", port,
		"-i", "tok-311", "-u", "alice", "-P", tok.Token, "-t", "x/y", "-m", "hi"); err != nil {
		t.Fatalf("mosquitto_pub with the token: %v\n%s", err, out)
	}
	// The wrong user name with a valid token is refused.
	if out, err := runCmd(t, 10*time.Second, nil, "mosquitto_pub", "-V", "mqttv311", "-h", host, "-p", port,
		"-u", "bob", "-P", tok.Token, "-t", "x/y", "-m", "hi"); err == nil {
		t.Fatalf("mosquitto_pub as bob with alice's token connected\n%s", out)
	}

	short := mintToken(t, n, "alice", `{"ttl":2}`)
	sc, code := dialToken(t, n, "tok-short", short.Token)
	if code != 0 {
		t.Fatalf("short token connack 0x%02x", code)
	}
	if rc := sc.awaitDisconnect(t, 10*time.Second); rc != 0xA0 {
		t.Fatalf("expiry DISCONNECT 0x%02x, want 0xA0", rc)
	}
	if early := time.Until(short.Expires); early > 50*time.Millisecond {
		t.Fatalf("closed %s before the token's expiry", early)
	}
	if _, code := dialToken(t, n, "tok-short2", short.Token); code != 0x86 {
		t.Fatalf("expired token connack 0x%02x, want 0x86", code)
	}
	n.waitLog(5*time.Second, "token_expired")

	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{http.MethodPost, "/api/v1/users/alice/tokens", `{"ttl":"1000h"}`, http.StatusBadRequest},
		{http.MethodPost, "/api/v1/users/alice/tokens", `{"nope":1}`, http.StatusBadRequest},
		{http.MethodPost, "/api/v1/users/a+b/tokens", ``, http.StatusBadRequest},
		{http.MethodDelete, "/api/v1/tokens/unknown", ``, http.StatusNotFound},
	} {
		if code, b := n.adminAPI(t, tc.method, tc.path, tc.body); code != tc.want {
			t.Errorf("%s %s %s: %d %s, want %d", tc.method, tc.path, tc.body, code, b, tc.want)
		}
	}
	// The user store decides who gets a token: not a user it lacks, not a
	// disabled one; and disabling alice refuses her tokens at CONNECT.
	if code, b := n.adminAPI(t, http.MethodPost, "/api/v1/users/nobody/tokens", ``); code != http.StatusConflict || !strings.Contains(string(b), "user_refused") {
		t.Fatalf("mint for a user the store lacks: %d %s", code, b)
	}
	if code, b := n.adminAPI(t, http.MethodPatch, "/api/v1/users/alice", `{"state":"disabled"}`); code != http.StatusOK {
		t.Fatalf("disable alice: %d %s", code, b)
	}
	if code, b := n.adminAPI(t, http.MethodPost, "/api/v1/users/alice/tokens", ``); code != http.StatusConflict {
		t.Fatalf("mint for a disabled user: %d %s", code, b)
	}
	if _, code := dialToken(t, n, "tok-disabled", tok.Token); code < 0x80 {
		t.Fatalf("a disabled user's token connected (0x%02x)", code)
	}
	if code, b := n.adminAPI(t, http.MethodPatch, "/api/v1/users/alice", `{"state":"active"}`); code != http.StatusOK {
		t.Fatalf("enable alice: %d %s", code, b)
	}
	// Without the admin token nothing is minted.
	if code, _ := n.adminDo(t, http.MethodPost, "/api/v1/users/alice/tokens", "", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("mint without the admin token: %d", code)
	}
	if code, b := n.adminAPI(t, http.MethodGet, "/api/v1/users/alice/tokens", ""); code != http.StatusOK ||
		!strings.Contains(string(b), tok.ID) || strings.Contains(string(b), tok.Token) {
		t.Fatalf("list: %d %s", code, b)
	}
}

// TestTokensRevokeCluster: a token minted on node 1 of three connects on
// node 3; revoking it on node 1 closes that connection (DISCONNECT 0x98)
// and refuses it on every node; revoking by user does the same for the
// user's other tokens.
func TestTokensRevokeCluster(t *testing.T) {
	nodes := startCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	tok := mintToken(t, n1, "alice", `{"device":"tablet"}`)
	other := mintToken(t, n1, "alice", `{"device":"phone"}`)
	c3, code := dialToken(t, n3, "rev-3", tok.Token)
	if code != 0 {
		t.Fatalf("node 3 connack 0x%02x", code)
	}
	o2, code := dialToken(t, n2, "rev-other", other.Token)
	if code != 0 {
		t.Fatalf("node 2 connack 0x%02x", code)
	}
	if code, b := n1.adminAPI(t, http.MethodDelete, "/api/v1/tokens/"+tok.ID, ""); code != http.StatusOK {
		t.Fatalf("revoke: %d %s", code, b)
	}
	if rc := c3.awaitDisconnect(t, 10*time.Second); rc != 0x98 {
		t.Fatalf("node 3 DISCONNECT 0x%02x, want 0x98", rc)
	}
	for _, nd := range nodes {
		if _, code := dialToken(t, nd, "rev-again", tok.Token); code != 0x86 {
			t.Fatalf("revoked token on %s: connack 0x%02x, want 0x86", nd.addr("tcp"), code)
		}
	}
	n2.waitLog(5*time.Second, "token_revoked")
	// The other token still works until its user's tokens are revoked.
	select {
	case d := <-o2.discon:
		t.Fatalf("other token's client disconnected: 0x%02x", d.ReasonCode)
	default:
	}
	status, b := n2.adminAPI(t, http.MethodDelete, "/api/v1/users/alice/tokens", "")
	if status != http.StatusOK || !strings.Contains(string(b), other.ID) {
		t.Fatalf("revoke user: %d %s", status, b)
	}
	if rc := o2.awaitDisconnect(t, 10*time.Second); rc != 0x98 {
		t.Fatalf("DISCONNECT 0x%02x, want 0x98", rc)
	}
}
