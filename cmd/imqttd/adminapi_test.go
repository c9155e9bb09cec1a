package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/imqtt/imqtt/broker/adminapi"
	"github.com/imqtt/imqtt/cluster"
)

// adminNode is a node on the default admin settings (the token it generates
// in <dir>/data/admin.token), with anonymous clients on a loopback TCP
// listener and the ACL rules of aclFile.
type adminNode struct {
	*node
	aclFile string
	base    string // http://127.0.0.1:port
}

// aclBase lets anonymous clients use a/#, keep/#, q/# and read $SYS.
const aclBase = "topic readwrite a/#\ntopic readwrite keep/#\ntopic readwrite q/#\ntopic read $SYS/#\n"

func startAdminNode(t *testing.T, dir string) *adminNode {
	t.Helper()
	return startAdminNodeOn(t, dir, engineNative)
}

// startAdminNodeOn is startAdminNode on the set-up eng.
func startAdminNodeOn(t *testing.T, dir, eng string) *adminNode {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	aclFile := filepath.Join(dir, "acl.conf")
	if _, err := os.Stat(aclFile); err != nil {
		writeFile(t, dir, "acl.conf", aclBase)
	}
	cfg := writeFile(t, dir, "imqttd.yaml", `
node: {id: adm1, data_dir: `+filepath.Join(dir, "data")+`}
listeners:
  tcp: {enabled: true, address: "127.0.0.1:0"}
  ws: {enabled: false}
auth: {allow_anonymous: true}
acl: {file: `+aclFile+`}
admin: {enabled: true, address: "127.0.0.1:0"}
cluster: {bind_addr: "127.0.0.1:0"}
`+engineYAML(eng))
	n := startNode(t, dir, "--config", cfg)
	return &adminNode{node: n, aclFile: aclFile, base: "http://" + n.addr("admin")}
}

// api sends one admin API request with token (none if "") and returns the
// status and body; the body must be JSON.
func (a *adminNode) api(t *testing.T, method, path, token string) (int, []byte) {
	t.Helper()
	status, body := a.adminDo(t, method, path, token, "", nil)
	if !json.Valid(body) {
		t.Fatalf("%s %s: %d, not JSON: %s", method, path, status, body)
	}
	return status, body
}

// call sends an authorised request, checks the status and decodes into out.
func (a *adminNode) call(t *testing.T, want int, method, path string, out any) []byte {
	t.Helper()
	status, body := a.api(t, method, path, a.adminToken())
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, body, err)
		}
	}
	return body
}

// wantError checks an error body's code (and that the message holds sub).
func wantError(t *testing.T, body []byte, code, sub string) {
	t.Helper()
	var e adminapi.ErrorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != code || !strings.Contains(e.Error.Message, sub) {
		t.Fatalf("error body %s, want code %q with %q", body, code, sub)
	}
}

// pubCode publishes at QoS 1 and returns the PUBACK reason code.
func pubCode(t *testing.T, c *v5client, topic string, retain bool, payload string) byte {
	t.Helper()
	resp, err := c.Publish(ctx10s(t), &paho.Publish{Topic: topic, QoS: 1, Retain: retain, Payload: []byte(payload)})
	if resp != nil {
		return resp.ReasonCode
	}
	if err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
	return 0
}

// TestAdminAPIProcess drives every endpoint of a running imqttd with real
// clients, with storage on and off: auth, clients and kick (MQTT 5 and 3.1.1),
// sessions, subscriptions, retained messages, reload with a broken ACL file,
// cluster, health; then with storage on a restart shows the deletes were
// durable.
func TestAdminAPIProcess(t *testing.T) {
	for _, eng := range []string{engineNative, engineNativeMemory} {
		t.Run(eng, func(t *testing.T) { testAdminAPIProcess(t, eng) })
	}
}

func testAdminAPIProcess(t *testing.T, eng string) {
	dir := t.TempDir()
	a := startAdminNodeOn(t, dir, eng)
	tcp := a.addr("tcp")

	t.Run("token", func(t *testing.T) {
		for _, tok := range []string{"", "not-the-admin-token-0123456789"} {
			for _, path := range []string{"/api/v1/clients", "/api/v1/version", "/api/v1/nothing", "/metrics"} {
				status, body := a.api(t, "GET", path, tok)
				if status != http.StatusUnauthorized {
					t.Fatalf("GET %s with token %q: %d %s", path, tok, status, body)
				}
				wantError(t, body, "unauthorized", "token")
			}
		}
		var v struct{ Name, Version string }
		a.call(t, http.StatusOK, "GET", "/api/v1/version", &v)
		if v.Name != "imqtt" {
			t.Fatalf("version %+v", v)
		}
		wantError(t, a.call(t, http.StatusNotFound, "GET", "/api/v1/nothing", nil), "not_found", "")
	})

	t.Run("clients and kick v5", func(t *testing.T) {
		conn, err := dialMQTT(t, "tcp", tcp, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := connectV5(t, conn, "api-v5", "", "", true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "a/+", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		var page adminapi.Page[adminapi.Client]
		a.call(t, http.StatusOK, "GET", "/api/v1/clients?client_id_prefix=api-&listener=tcp", &page)
		if len(page.Items) != 1 || page.Items[0].ClientID != "api-v5" || page.Items[0].ProtocolVersion != 5 || page.Items[0].SubscriptionCount != 1 {
			t.Fatalf("clients %+v", page.Items)
		}
		var d adminapi.ClientDetail
		a.call(t, http.StatusOK, "GET", "/api/v1/clients/api-v5", &d)
		if d.Remote == "" || d.Listener != "tcp" || d.ConnectedAt == nil || len(d.Subscriptions) != 1 || d.Subscriptions[0].Filter != "a/+" {
			t.Fatalf("client detail %+v", d)
		}
		wantError(t, a.call(t, http.StatusNotFound, "GET", "/api/v1/clients/nobody", nil), "not_found", "nobody")
		wantError(t, a.call(t, http.StatusNotFound, "DELETE", "/api/v1/clients/nobody", nil), "not_found", "nobody")

		a.call(t, http.StatusOK, "DELETE", "/api/v1/clients/api-v5", nil)
		select {
		case d := <-c.discon:
			if d.ReasonCode != 0x98 {
				t.Fatalf("DISCONNECT reason %#x, want 0x98 (administrative action)", d.ReasonCode)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("kicked client saw no DISCONNECT")
		}
		a.waitLog(10*time.Second, `"action":"kick"`, `"principal":"token"`, `"client_id":"api-v5"`)
	})

	t.Run("kick v3.1.1", func(t *testing.T) {
		lost := make(chan error, 1)
		opts := pahov3.NewClientOptions().AddBroker("tcp://" + tcp).SetClientID("api-v3").SetProtocolVersion(4).
			SetAutoReconnect(false).SetConnectionLostHandler(func(_ pahov3.Client, err error) { lost <- err })
		c := pahov3.NewClient(opts)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect: %v", tok.Error())
		}
		defer c.Disconnect(100)
		var k adminapi.Kicked
		a.call(t, http.StatusOK, "DELETE", "/api/v1/clients/api-v3", &k)
		if k.Reason != "" {
			t.Fatalf("3.1.1 kick answered reason %q", k.Reason)
		}
		select {
		case <-lost:
		case <-time.After(10 * time.Second):
			t.Fatal("3.1.1 client not disconnected")
		}
	})

	t.Run("retained", func(t *testing.T) {
		conn, err := dialMQTT(t, "tcp", tcp, nil)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := connectV5(t, conn, "api-pub", "", "", true)
		if err != nil {
			t.Fatal(err)
		}
		for _, topic := range []string{"keep/one", "keep/two"} {
			if rc := pubCode(t, pub, topic, true, "v-"+topic); rc != 0 {
				t.Fatalf("publish %s: %#x", topic, rc)
			}
		}
		var page adminapi.Page[adminapi.Retained]
		a.call(t, http.StatusOK, "GET", "/api/v1/retained?filter="+url.QueryEscape("keep/#"), &page)
		if len(page.Items) != 2 || page.Items[0].Topic != "keep/one" || string(page.Items[0].Payload) != "v-keep/one" {
			t.Fatalf("retained %+v", page.Items)
		}
		wantError(t, a.call(t, http.StatusBadRequest, "GET", "/api/v1/retained?filter="+url.QueryEscape("keep/#/x"), nil), "bad_request", "last level")
		a.call(t, http.StatusOK, "DELETE", "/api/v1/retained?topic=keep/one", nil)
		wantError(t, a.call(t, http.StatusNotFound, "DELETE", "/api/v1/retained?topic=keep/one", nil), "not_found", "keep/one")
		wantError(t, a.call(t, http.StatusBadRequest, "DELETE", "/api/v1/retained?topic="+url.QueryEscape("keep/+"), nil), "bad_request", "wildcard")

		// A new subscriber gets keep/two only (mosquitto_sub, 3.1.1).
		out, err := runCmd(t, 20*time.Second, nil, "mosquitto_sub", "-h", "127.0.0.1", "-p", portOf(t, tcp),
			"-t", "keep/#", "-v", "-C", "2", "-W", "2")
		if strings.Contains(out, "keep/one") || !strings.Contains(out, "keep/two v-keep/two") {
			t.Fatalf("new subscriber after delete got %q (%v)", out, err)
		}
	})

	t.Run("sessions", func(t *testing.T) {
		if eng == engineNativeMemory {
			adminSessionsInMemory(t, a, tcp)
			return
		}
		s := connectSession(t, tcp, "api-dur", 3600)
		if _, err := s.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "q/#", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		_ = s.Disconnect(&paho.Disconnect{})
		gone := connectSession(t, tcp, "api-gone", 3600)
		_ = gone.Disconnect(&paho.Disconnect{})
		busy := connectSession(t, tcp, "api-busy", 3600)
		t.Cleanup(func() { _ = busy.Disconnect(&paho.Disconnect{}) })

		var sess adminapi.SessionDetail
		deadline := time.Now().Add(10 * time.Second)
		for {
			a.call(t, http.StatusOK, "GET", "/api/v1/sessions/api-dur", &sess)
			if !sess.Online && sess.DisconnectedAt != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("session still online: %+v", sess)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(sess.Subscriptions) != 1 || sess.Subscriptions[0].Filter != "q/#" || sess.SessionExpiry == nil || *sess.SessionExpiry != 3600 {
			t.Fatalf("session %+v", sess)
		}
		var page adminapi.Page[adminapi.Session]
		a.call(t, http.StatusOK, "GET", "/api/v1/sessions?client_id_prefix=api-", &page)
		if len(page.Items) != 3 || page.Items[0].ClientID != "api-busy" || !page.Items[0].Online || page.Items[1].Online {
			t.Fatalf("sessions %+v", page.Items)
		}
		wantError(t, a.call(t, http.StatusConflict, "DELETE", "/api/v1/sessions/api-busy", nil), "conflict", "connected")
		wantError(t, a.call(t, http.StatusNotFound, "GET", "/api/v1/sessions/ghost", nil), "not_found", "ghost")
		a.call(t, http.StatusOK, "DELETE", "/api/v1/sessions/api-dur", nil)
		a.call(t, http.StatusOK, "DELETE", "/api/v1/sessions/api-gone", nil)
		wantError(t, a.call(t, http.StatusNotFound, "DELETE", "/api/v1/sessions/api-dur", nil), "not_found", "api-dur")
		again := connectSession(t, tcp, "api-dur", 3600)
		if again.connack.SessionPresent {
			t.Fatal("CONNACK session present after DELETE /api/v1/sessions/api-dur")
		}
		_ = again.Disconnect(&paho.Disconnect{})
	})

	t.Run("subscriptions", func(t *testing.T) {
		conn, err := dialMQTT(t, "tcp", tcp, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := connectV5(t, conn, "api-subs", "", "", true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
			{Topic: "a/b/c", QoS: 0}, {Topic: "a/+/c", QoS: 1}, {Topic: "q/z", QoS: 2},
		}}); err != nil {
			t.Fatal(err)
		}
		var page adminapi.Page[adminapi.Subscription]
		a.call(t, http.StatusOK, "GET", "/api/v1/subscriptions?filter="+url.QueryEscape("a/#"), &page)
		got := map[string]bool{}
		for _, s := range page.Items {
			got[s.ClientID+" "+s.Filter] = true
		}
		if !got["api-subs a/b/c"] || !got["api-subs a/+/c"] || got["api-subs q/z"] {
			t.Fatalf("subscriptions under a/#: %+v", page.Items)
		}
		a.call(t, http.StatusOK, "GET", "/api/v1/subscriptions?topic=a/x/c", &page)
		if len(page.Items) != 1 || page.Items[0].Filter != "a/+/c" {
			t.Fatalf("subscriptions matching a/x/c: %+v", page.Items)
		}
		wantError(t, a.call(t, http.StatusBadRequest, "GET", "/api/v1/subscriptions?filter="+url.QueryEscape("a/#/b"), nil),
			"bad_request", "'#' must be the last level")
		wantError(t, a.call(t, http.StatusBadRequest, "GET", "/api/v1/subscriptions?limit=0", nil), "bad_request", "limit")
	})

	t.Run("reload keeps the old rules on a broken ACL file", func(t *testing.T) {
		conn, err := dialMQTT(t, "tcp", tcp, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := connectV5(t, conn, "api-acl", "", "", true)
		if err != nil {
			t.Fatal(err)
		}
		if rc := pubCode(t, c, "a/1", false, "x"); rc != 0 {
			t.Fatalf("a/1 before: %#x", rc)
		}
		if rc := pubCode(t, c, "b/1", false, "x"); rc != 0x87 {
			t.Fatalf("b/1 before: %#x, want 0x87", rc)
		}
		if err := os.WriteFile(a.aclFile, []byte(aclBase+"topic readwrite b/#\nthis is not a rule\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		status, body := a.api(t, "POST", "/api/v1/reload", a.adminToken())
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("reload with a broken ACL: %d %s", status, body)
		}
		var re adminapi.ReloadError
		if err := json.Unmarshal(body, &re); err != nil || re.Error.Code != "reload_failed" || !strings.Contains(re.Error.Message, "acl.conf:6") {
			t.Fatalf("reload error %s", body)
		}
		parts := map[string]adminapi.ReloadPart{}
		for _, p := range re.Parts {
			parts[p.Part] = p
		}
		if parts["acl"].Status != adminapi.ReloadFailed || parts["auth"].Status != adminapi.ReloadOK {
			t.Fatalf("parts %+v", re.Parts)
		}
		if rc := pubCode(t, c, "a/2", false, "x"); rc != 0 {
			t.Fatalf("a/2 after a failed reload: %#x, want the old rules (allowed)", rc)
		}
		if rc := pubCode(t, c, "b/2", false, "x"); rc != 0x87 {
			t.Fatalf("b/2 after a failed reload: %#x, want the old rules (denied)", rc)
		}
		if err := os.WriteFile(a.aclFile, []byte(aclBase+"topic readwrite b/#\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var rep adminapi.ReloadReport
		a.call(t, http.StatusOK, "POST", "/api/v1/reload", &rep)
		for _, p := range rep.Parts {
			if p.Status != adminapi.ReloadOK || (p.Part == "acl") != p.Changed {
				t.Fatalf("reload parts %+v: want all reloaded, only acl changed", rep.Parts)
			}
		}
		if rc := pubCode(t, c, "b/3", false, "x"); rc != 0 {
			t.Fatalf("b/3 after the fixed reload: %#x", rc)
		}
		a.call(t, http.StatusMethodNotAllowed, "GET", "/api/v1/reload", nil)
	})

	t.Run("cluster and health", func(t *testing.T) {
		var st cluster.Status
		a.call(t, http.StatusOK, "GET", "/api/v1/cluster", &st)
		if st.NodeID != "adm1" || st.State != "Leader" || st.LeaderID != "adm1" || len(st.Servers) != 1 || !st.Servers[0].Voter || st.AppliedIndex == 0 {
			t.Fatalf("cluster %+v", st)
		}
		var h adminapi.Health
		a.call(t, http.StatusOK, "GET", "/api/v1/health", &h)
		if h.Status != "ok" || h.NodeID != "adm1" {
			t.Fatalf("health %+v", h)
		}
	})

	if eng == engineNativeMemory {
		return // no durable state to restart with
	}
	// The deletes were durable: after a restart on the same data directory the
	// retained message and the session api-gone stay gone, the others are
	// still there (api-dur was re-created by its reconnect).
	a.stop()
	b := startAdminNodeOn(t, dir, eng)
	var rp adminapi.Page[adminapi.Retained]
	b.call(t, http.StatusOK, "GET", "/api/v1/retained?filter="+url.QueryEscape("keep/#"), &rp)
	if len(rp.Items) != 1 || rp.Items[0].Topic != "keep/two" {
		t.Fatalf("retained after restart: %+v", rp.Items)
	}
	var sp adminapi.Page[adminapi.Session]
	b.call(t, http.StatusOK, "GET", "/api/v1/sessions?client_id_prefix=api-", &sp)
	var ids []string
	for _, s := range sp.Items {
		ids = append(ids, s.ClientID)
	}
	if strings.Join(ids, ",") != "api-busy,api-dur" {
		t.Fatalf("sessions after restart: %v, want api-busy,api-dur", ids)
	}
}

// adminSessionsInMemory is the sessions part on the native engine with
// storage off, which keeps persistent sessions in memory only: /sessions lists the
// store's (none), an offline session shows in /subscriptions and is deleted
// by DELETE /sessions/{id}, a connected one is refused with 409.
func adminSessionsInMemory(t *testing.T, a *adminNode, tcp string) {
	s := connectSession(t, tcp, "api-dur", 3600)
	if _, err := s.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "q/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	_ = s.Disconnect(&paho.Disconnect{})
	busy := connectSession(t, tcp, "api-busy", 3600)
	t.Cleanup(func() { _ = busy.Disconnect(&paho.Disconnect{}) })

	var page adminapi.Page[adminapi.Session]
	a.call(t, http.StatusOK, "GET", "/api/v1/sessions?client_id_prefix=api-", &page)
	if len(page.Items) != 0 {
		t.Fatalf("stored sessions with storage off: %+v", page.Items)
	}
	wantError(t, a.call(t, http.StatusNotFound, "GET", "/api/v1/sessions/api-dur", nil), "not_found", "api-dur")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var subs adminapi.Page[adminapi.Subscription]
		a.call(t, http.StatusOK, "GET", "/api/v1/subscriptions?filter="+url.QueryEscape("q/#"), &subs)
		if len(subs.Items) == 1 && subs.Items[0].ClientID == "api-dur" && subs.Items[0].Online != nil && !*subs.Items[0].Online {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("offline session's subscription: %+v", subs.Items)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantError(t, a.call(t, http.StatusConflict, "DELETE", "/api/v1/sessions/api-busy", nil), "conflict", "connected")
	a.call(t, http.StatusOK, "DELETE", "/api/v1/sessions/api-dur", nil)
	wantError(t, a.call(t, http.StatusNotFound, "DELETE", "/api/v1/sessions/api-dur", nil), "not_found", "api-dur")
	a.waitLog(10*time.Second, `"action":"delete_session"`, `"client_id":"api-dur"`)
	again := connectSession(t, tcp, "api-dur", 3600)
	if again.connack.SessionPresent {
		t.Fatal("CONNACK session present after DELETE /api/v1/sessions/api-dur")
	}
	_ = again.Disconnect(&paho.Disconnect{})
}

// portOf returns the port of host:port.
func portOf(t *testing.T, addr string) string {
	_, p := hostPort(t, addr)
	return p
}
