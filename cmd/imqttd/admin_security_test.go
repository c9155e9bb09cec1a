package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/imqtt/imqtt/cluster"
)

// clusterMembers returns the members of n's raft configuration (GET
// /api/v1/cluster with the token).
func clusterMembers(t *testing.T, n *node) []string {
	t.Helper()
	status, body := n.adminAPI(t, "GET", "/api/v1/cluster", "")
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/cluster: %d %s", status, body)
	}
	var st cluster.Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range st.Servers {
		ids = append(ids, s.ID)
	}
	return ids
}

// countLines counts n's log lines holding every one of subs.
func (n *node) countLines(subs ...string) int {
	c := 0
	for _, l := range strings.Split(n.log(), "\n") {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(l, s)
		}
		if all {
			c++
		}
	}
	return c
}

// forgedPost is a state-changing admin route and a body a forger would send.
type forgedPost struct{ path, body string }

// forgeAll sends, with the admin token, the requests a web page or a
// DNS-rebound name can make to each of posts (simple cross-origin bodies, a
// foreign Host, Origin or Sec-Fetch-Site) and a few GETs, and checks each is
// refused with its status and code before any route runs; then posts[0] and
// the GETs without the token or with a wrong one, refused with 401.
func forgeAll(t *testing.T, n *node, tok string, posts []forgedPost) {
	t.Helper()
	type req struct {
		method, path, body string
		hdr                map[string]string
		status             int
		code               string
	}
	var reqs []req
	// "Simple" cross-origin bodies: text/plain, a form, none. Sent with the
	// token, so the Content-Type rule alone refuses them.
	for _, ct := range []string{"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b", ""} {
		for _, p := range posts {
			body := p.body
			if p.path == "/api/v1/reload" {
				body = ""
			}
			reqs = append(reqs, req{"POST", p.path, body, map[string]string{"Content-Type": ct}, 415, "unsupported_media_type"})
		}
	}
	with := func(k, v string) map[string]string {
		return map[string]string{"Content-Type": "application/json", k: v}
	}
	for _, p := range posts {
		reqs = append(reqs,
			// DNS rebinding: the page's name resolves to 127.0.0.1.
			req{"POST", p.path, p.body, with("Host", "attacker.example"), 403, "forbidden_host"},
			req{"POST", p.path, p.body, with("Host", "attacker.example:"+portOf(t, n.addr("admin"))), 403, "forbidden_host"},
			// A page on another origin (even another port of 127.0.0.1).
			req{"POST", p.path, p.body, with("Origin", "http://attacker.example"), 403, "forbidden_origin"},
			req{"POST", p.path, p.body, with("Origin", "http://127.0.0.1:9"), 403, "forbidden_origin"},
			req{"POST", p.path, p.body, with("Sec-Fetch-Site", "cross-site"), 403, "forbidden_origin"},
			req{"POST", p.path, p.body, with("Sec-Fetch-Site", "same-site"), 403, "forbidden_origin"},
		)
	}
	reqs = append(reqs,
		req{"GET", "/api/v1/sessions", "", map[string]string{"Host": "attacker.example"}, 403, "forbidden_host"},
		req{"GET", "/api/v1/sessions", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "forbidden_origin"},
		req{"GET", "/metrics", "", map[string]string{"Host": "attacker.example"}, 403, "forbidden_host"},
	)
	for _, r := range reqs {
		status, body := n.adminDo(t, r.method, r.path, tok, r.body, r.hdr)
		if status != r.status || !strings.Contains(string(body), `"code":"`+r.code+`"`) {
			t.Errorf("%s %s %v: %d %s, want %d %s", r.method, r.path, r.hdr, status, body, r.status, r.code)
		}
	}
	// Without the token, or with a wrong one: 401, even with a JSON body.
	jsonCT := map[string]string{"Content-Type": "application/json"}
	for _, bad := range []string{"", "not-the-admin-token-0123456789"} {
		for _, r := range []req{{"GET", "/api/v1/sessions", "", nil, 0, ""}, {"POST", posts[0].path, posts[0].body, jsonCT, 0, ""}, {"GET", "/metrics", "", nil, 0, ""}} {
			if status, body := n.adminDo(t, r.method, r.path, bad, r.body, r.hdr); status != 401 || !strings.Contains(string(body), `"code":"unauthorized"`) {
				t.Errorf("%s %s with token %q: %d %s, want 401", r.method, r.path, bad, status, body)
			}
		}
	}
}

// TestAdminForgeryRefused (issue 16, finding 1): requests a web page or a
// DNS-rebound name can make are refused before any route runs, and nothing
// changes: no voter joins, no notification is delivered, no reload happens.
func TestAdminForgeryRefused(t *testing.T) {
	n := imNode(t, "")
	bob := imConnect(t, n, "bob", "bob-1")
	tok := n.adminToken()
	if tok == "" {
		t.Error("the node logged no admin_token_file: no token by default")
	}
	join := `{"id":"evil","addr":"127.0.0.1:1"}`
	notify := `{"to":{"user":"bob"},"title":"t","body":"forged"}`
	forgeAll(t, n, tok, []forgedPost{{"/api/v1/cluster/nodes", join}, {"/api/v1/im/notify", notify}, {"/api/v1/reload", "{}"}})

	// Nothing changed. Membership: still this node alone.
	if ids := clusterMembers(t, n); len(ids) != 1 || ids[0] != "im1" {
		t.Fatalf("cluster members after the forged joins: %v", ids)
	}
	// Notifications: the first bob receives is the real one sent after the
	// forged ones (one publisher, so delivery keeps that order).
	if status, body := n.adminAPI(t, "POST", "/api/v1/im/notify", `{"to":{"user":"bob"},"title":"t","body":"real"}`); status != 200 {
		t.Fatalf("real notify: %d %s", status, body)
	}
	if m := bob.await(t, "notify", nil); m["body"] != "real" {
		t.Fatalf("bob's first notification: %v, want the real one", m)
	}
	// Reload: the audit log has the real reload's line for the ACL part only.
	if status, body := n.adminAPI(t, "POST", "/api/v1/reload", ""); status != 200 {
		t.Fatalf("real reload: %d %s", status, body)
	}
	n.waitLog(10*time.Second, `"action":"reload"`, `"part":"acl"`)
	if c := n.countLines(`"action":"reload"`, `"part":"acl"`); c != 1 {
		t.Fatalf("%d reloads of the ACL logged, want 1 (the real one)", c)
	}
	if c := n.countLines(`"action":"cluster_join"`); c != 0 {
		t.Fatalf("%d cluster_join actions logged, want 0", c)
	}
	// Refusals are counted per kind and logged (sampled) with the reason.
	status, body := n.adminAPI(t, "GET", "/metrics", "")
	if status != 200 {
		t.Fatalf("/metrics: %d", status)
	}
	for _, limit := range []string{"admin_content_type", "admin_host", "admin_origin", "admin_token"} {
		if !strings.Contains(string(body), `imqtt_limit_refusals_total{limit="`+limit+`"}`) {
			t.Errorf("/metrics lacks refusals of %s", limit)
		}
	}
	n.waitLog(5*time.Second, `"message":"admin request refused"`, `"reason":"unsupported_media_type"`)
	if strings.Contains(n.log(), tok) {
		t.Fatal("the admin token is in the node's log")
	}
}

// TestAdminCtlFindsToken: on the node's machine `imqttd ctl` needs no token
// flag: from the node's working directory it reads ./data/admin.token, with
// --config it reads node.data_dir of that file; the API itself refuses
// requests without the token.
func TestAdminCtlFindsToken(t *testing.T) {
	a := startAdminNode(t, "")
	if status, body := a.adminDo(t, "GET", "/api/v1/sessions", "", "", nil); status != 401 {
		t.Fatalf("GET /api/v1/sessions without a token: %d %s, want 401", status, body)
	}
	addrEnv := []string{"IMQTT_ADMIN_ADDRESS=" + a.addr("admin")}
	// No flags at all, from the node's working directory.
	out, errOut, code := ctlRunIn(t, a.dir, addrEnv, "health")
	if code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("ctl health in the node's directory: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = ctlRunIn(t, a.dir, addrEnv, "cluster")
	if code != 0 || !strings.Contains(out, "adm1") {
		t.Fatalf("ctl cluster in the node's directory: exit %d\n%s%s", code, out, errOut)
	}
	// A POST (reload) carries the JSON body type.
	if out, errOut, code = ctlRunIn(t, a.dir, addrEnv, "reload"); code != 0 {
		t.Fatalf("ctl reload: exit %d\n%s%s", code, out, errOut)
	}
	elsewhere := t.TempDir()
	// Elsewhere, --config names the node's data directory.
	out, errOut, code = ctlRunIn(t, elsewhere, addrEnv, "--config", a.dir+"/imqttd.yaml", "sessions")
	if code != 0 {
		t.Fatalf("ctl --config: exit %d\n%s%s", code, out, errOut)
	}
	// --data-dir and IMQTT_NODE_DATA_DIR name it too.
	if out, errOut, code = ctlRunIn(t, elsewhere, addrEnv, "--data-dir", a.dir+"/data", "version"); code != 0 {
		t.Fatalf("ctl --data-dir: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code = ctlRunIn(t, elsewhere, append(addrEnv, "IMQTT_NODE_DATA_DIR="+a.dir+"/data"), "version"); code != 0 {
		t.Fatalf("ctl with IMQTT_NODE_DATA_DIR: exit %d\n%s%s", code, out, errOut)
	}
	// Elsewhere without a hint: 401, naming where it looked.
	_, errOut, code = ctlRunIn(t, elsewhere, addrEnv, "sessions")
	if code != 1 || !strings.Contains(errOut, "401") || !strings.Contains(errOut, "data/admin.token (not found)") {
		t.Fatalf("ctl without a token: exit %d, %q", code, errOut)
	}
}

// TestAdminCrossOriginBrowser (issue 16, finding 1): a real headless Chromium
// on a page served from another origin (another port of 127.0.0.1) sends the
// forged requests a malicious site would: a no-cors text/plain fetch and
// HTML form POSTs (text/plain with a JSON-looking body, and urlencoded). The
// node refuses each and its membership is unchanged.
func TestAdminCrossOriginBrowser(t *testing.T) {
	n := startAdminNode(t, "")
	admin := "http://" + n.addr("admin")
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><body>
		<form id="join" method="POST" action="%[1]s/api/v1/cluster/nodes" enctype="text/plain" target="sink1">
		<input name='{"id":"evil-form","addr":"127.0.0.1:1","x":"' value='"}'></form>
		<form id="reload" method="POST" action="%[1]s/api/v1/reload" target="sink2"><input name="a" value="b"></form>
		<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
		<script>
		window.fetched = '';
		fetch(%[2]q, {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'},
		  body: JSON.stringify({id: 'evil-fetch', addr: '127.0.0.1:1'})})
		  .then(() => { window.fetched = 'sent' }, e => { window.fetched = 'error ' + e });
		document.getElementById('join').submit();
		document.getElementById('reload').submit();
		</script></body></html>`, admin, admin+"/api/v1/cluster/nodes")
	}))
	t.Cleanup(evil.Close)
	if evil.URL[len("http://"):] == n.addr("admin") {
		t.Fatal("the page must be on another origin")
	}

	ctx := browser(t)
	p := &page{t: t, ctx: ctx, user: "attacker"}
	p.run(chromedp.Navigate(evil.URL))
	deadline := time.Now().Add(15 * time.Second)
	for {
		var fetched string
		p.eval(`window.fetched`, &fetched)
		if fetched == "sent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page's fetch did not complete: %q", fetched)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The node saw all three requests (the debug request log names path and
	// status), changed nothing, and refused each with 403.
	seen := func(path string, want int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for n.countLines(`"message":"admin request"`, `"method":"POST"`, `"path":"`+path+`"`) < want {
			if time.Now().After(deadline) {
				t.Fatalf("the node did not log %d POST %s within 15s:\n%s", want, path, n.log())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	seen("/api/v1/cluster/nodes", 2) // the fetch and the form
	seen("/api/v1/reload", 1)
	if ids := clusterMembers(t, n.node); len(ids) != 1 || ids[0] != "adm1" {
		t.Fatalf("cluster members after the page's requests: %v", ids)
	}
	if c := n.countLines(`"action":"reload"`) + n.countLines(`"action":"cluster_join"`); c != 0 {
		t.Fatalf("%d admin actions ran for the page's requests", c)
	}
	if c := n.countLines(`"message":"admin request"`, `"method":"POST"`, `"status":403`); c != 3 {
		t.Fatalf("%d of the page's 3 POSTs refused with 403", c)
	}
	n.waitLog(5*time.Second, `"message":"admin request refused"`, `"reason":"forbidden_origin"`, `"origin":"`+evil.URL+`"`)
	// A link from that site to the web client still opens it.
	p.run(chromedp.Evaluate(fmt.Sprintf(`location.href = %q`, admin+"/web/"), nil))
	p.wait("the web client loaded", `location.pathname === '/web/' && !!document.getElementById('messages')`)
}
