package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// webhook is a real HTTP server standing in for a push gateway: it answers 500
// to the first attempt of every event and 204 to the retries, and records every
// request.
type webhook struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []webhookReq
	seen map[string]bool
}

type webhookReq struct {
	eventID, ts, sig string
	body             []byte
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{seen: map[string]bool{}}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.reqs = append(w.reqs, webhookReq{
			eventID: r.Header.Get("X-Imqtt-Event-Id"),
			ts:      r.Header.Get("X-Imqtt-Timestamp"),
			sig:     r.Header.Get("X-Imqtt-Signature"),
			body:    body,
		})
		id := r.Header.Get("X-Imqtt-Event-Id")
		first := !w.seen[id]
		w.seen[id] = true
		w.mu.Unlock()
		if first {
			http.Error(rw, "try again", http.StatusInternalServerError)
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// requestsFor returns the requests whose event is for user.
func (w *webhook) requestsFor(t *testing.T, user string) []webhookReq {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []webhookReq
	for _, r := range w.reqs {
		var ev map[string]any
		if err := json.Unmarshal(r.body, &ev); err != nil {
			t.Fatalf("push body %q: %v", r.body, err)
		}
		if ev["user"] == user {
			out = append(out, r)
		}
	}
	return out
}

const pushSecret = "push-secret-for-tests"

// TestIMChat is the IM scenario with real clients against a real imqttd:
// direct chat with ids, seqs, acks and receipts over two devices, an idempotent
// re-send, a group with notices, 100 messages to an offline user caught up with
// sync, the word filter masking, the push webhook retried after a 500, and
// mosquitto clients speaking the same protocol over MQTT 3.1.1.
func TestIMChat(t *testing.T) {
	hook := newWebhook(t)
	words := writeFile(t, t.TempDir(), "words.txt", "# test list\nbadword\n")
	n := imNodeAuth(t, "", fmt.Sprintf(`  filter: {enabled: true, file: %s, mode: mask}
  push: {url: %q, secret: %q, backoff_min: 50ms, backoff_max: 200ms}
  rate_limit: {messages_per_second: 0}
`, words, hook.srv.URL, pushSecret))

	alice1 := imConnect(t, n, "alice", "alice-phone")
	alice2 := imConnect(t, n, "alice", "alice-laptop")
	bob := imConnect(t, n, "bob", "bob-phone")

	// Direct chat: ids, seq 1..5, acks, delivery to bob and to alice's other device.
	ids := map[uint64]string{}
	for i := 1; i <= 5; i++ {
		ack := alice1.send(t, "im/send/user/bob", fmt.Sprintf("c%d", i), fmt.Sprintf("hello %d", i))
		if ack["ok"] != true || ack["conv"] != "d:alice:bob" || num(t, ack, "seq") != uint64(i) || ack["id"] == "" {
			t.Fatalf("ack %d: %v", i, ack)
		}
		ids[uint64(i)] = ack["id"].(string)
		for _, c := range []*imClient{bob, alice2} {
			m := c.await(t, "msg", func(m map[string]any) bool { return m["conv"] == "d:alice:bob" && m["seq"] == float64(i) })
			if m["from"] != "alice" || m["body"] != fmt.Sprintf("hello %d", i) || m["id"] != ids[uint64(i)] {
				t.Fatalf("%s got %v", c.user, m)
			}
		}
	}

	// The same cid again: the original id and seq, no second copy.
	ack := alice1.send(t, "im/send/user/bob", "c3", "hello 3 again")
	if ack["dup"] != true || num(t, ack, "seq") != 3 || ack["id"] != ids[3] {
		t.Fatalf("re-send ack: %v", ack)
	}
	alice1.send(t, "im/send/user/bob", "c6", "hello 6")
	if m := bob.await(t, "msg", nil); num(t, m, "seq") != 6 {
		t.Fatalf("after the re-send bob got %v, want seq 6", m)
	}

	// Spoofing: a "from" in the payload is ignored.
	alice1.publish(t, "im/send/user/bob", map[string]any{"cid": "c7", "body": "it is carol", "from": "carol"}, nil)
	if m := bob.await(t, "msg", nil); m["from"] != "alice" || num(t, m, "seq") != 7 {
		t.Fatalf("spoofed from: %v", m)
	}

	// Receipts: bob read everything; alice's devices are told; unread counts follow.
	if code := bob.publish(t, "im/receipt/d:alice:bob", map[string]any{"type": "read", "seq": 7}, nil); code != 0 {
		t.Fatalf("receipt: PUBACK %#x", code)
	}
	for _, c := range []*imClient{alice1, alice2} {
		r := c.await(t, "receipt", func(m map[string]any) bool { return m["user"] == "bob" && m["type"] == "read" })
		if num(t, r, "seq") != 7 || r["conv"] != "d:alice:bob" {
			t.Fatalf("%s receipt: %v", c.user, r)
		}
	}
	convs := alice1.rpc(t, "conversations", map[string]any{})
	list, _ := convs["conversations"].([]any)
	if convs["ok"] != true || len(list) != 1 {
		t.Fatalf("conversations: %v", convs)
	}
	if c := list[0].(map[string]any); num(t, c, "peer_read") != 7 || num(t, c, "last_seq") != 7 || num(t, c, "unread") != 0 {
		t.Fatalf("alice's conversation: %v", c)
	}

	// A group of three with notices.
	carol := imConnect(t, n, "carol", "carol-phone")
	g := alice1.rpc(t, "group.create", map[string]any{"name": "team", "users": []string{"bob", "carol"}})
	if g["ok"] != true {
		t.Fatalf("group.create: %v", g)
	}
	group, conv := g["group"].(string), g["conv"].(string)
	for _, c := range []*imClient{bob, carol} {
		c.await(t, "msg", func(m map[string]any) bool { return m["conv"] == conv && m["type"] == "notice" })
	}
	carol.send(t, "im/send/group/"+group, "g1", "hi team")
	for _, c := range []*imClient{alice1, bob} {
		m := c.await(t, "msg", func(m map[string]any) bool { return m["conv"] == conv && m["type"] == "text" })
		if m["from"] != "carol" || m["body"] != "hi team" {
			t.Fatalf("%s group message: %v", c.user, m)
		}
	}
	// An invite: every member sees the "joined" notice.
	if r := alice1.rpc(t, "group.invite", map[string]any{"group": group, "users": []string{"erin"}}); r["ok"] != true {
		t.Fatalf("group.invite: %v", r)
	}
	joined := carol.await(t, "msg", func(m map[string]any) bool {
		nt, _ := m["notice"].(map[string]any)
		return m["conv"] == conv && nt != nil && nt["event"] == "joined"
	})
	if nt := joined["notice"].(map[string]any); nt["user"] != "erin" || nt["by"] != "alice" {
		t.Fatalf("joined notice: %v", joined)
	}
	if r := bob.rpc(t, "group.leave", map[string]any{"group": group}); r["ok"] != true {
		t.Fatalf("group.leave: %v", r)
	}
	left := alice1.await(t, "msg", func(m map[string]any) bool {
		nt, _ := m["notice"].(map[string]any)
		return m["conv"] == conv && nt != nil && nt["event"] == "left"
	})
	if nt := left["notice"].(map[string]any); nt["user"] != "bob" {
		t.Fatalf("left notice: %v", left)
	}
	// bob is out: his group message is refused, with the code on PUBACK and ack.
	if code := bob.publish(t, "im/send/group/"+group, map[string]any{"cid": "g2", "body": "still here?"}, nil); code != 0x87 {
		t.Fatalf("send to a group after leaving: PUBACK %#x, want 0x87", code)
	}
	if a := bob.await(t, "ack", func(m map[string]any) bool { return m["cid"] == "g2" }); a["ok"] != false || num(t, a, "code") != 0x87 {
		t.Fatalf("refused ack: %v", a)
	}

	// The word filter masks.
	alice1.send(t, "im/send/user/bob", "c8", "you badword!")
	if m := bob.await(t, "msg", func(m map[string]any) bool { return m["cid"] == "c8" }); m["body"] != "you *******!" {
		t.Fatalf("masked body: %q", m["body"])
	}

	// bob goes offline; alice sends 100; bob's new device catches up with sync.
	bob.close()
	for i := 1; i <= 100; i++ {
		alice1.send(t, "im/send/user/bob", fmt.Sprintf("o%d", i), fmt.Sprintf("offline %d", i))
	}
	bob2 := imConnect(t, n, "bob", "bob-tablet")
	since := map[string]any{"d:alice:bob": 8}
	var got []uint64
	for page := 0; page < 20; page++ {
		r := bob2.rpc(t, "sync", map[string]any{"since": since, "limit": 30})
		if r["ok"] != true {
			t.Fatalf("sync: %v", r)
		}
		for _, x := range r["messages"].([]any) {
			m := x.(map[string]any)
			if m["conv"] == "d:alice:bob" {
				got = append(got, num(t, m, "seq"))
			}
		}
		since = r["since"].(map[string]any)
		if r["more"] != true {
			break
		}
	}
	if len(got) != 100 {
		t.Fatalf("sync returned %d messages of bob's conversation with alice, want 100", len(got))
	}
	for i, s := range got {
		if s != uint64(9+i) {
			t.Fatalf("sync message %d has seq %d, want %d (in order, no duplicates)", i, s, 9+i)
		}
	}

	// dave never connected: the push webhook is called, and retried after its 500.
	alice1.send(t, "im/send/user/dave", "p1", "are you there?")
	deadline := time.Now().Add(10 * time.Second)
	for len(hook.requestsFor(t, "dave")) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	reqs := hook.requestsFor(t, "dave")
	if len(reqs) < 2 {
		t.Fatalf("webhook got %d requests, want the 500 and a retry", len(reqs))
	}
	var ev map[string]any
	if err := json.Unmarshal(reqs[1].body, &ev); err != nil {
		t.Fatalf("push body %q: %v", reqs[1].body, err)
	}
	if ev["user"] != "dave" || ev["from"] != "alice" || ev["conv"] != "d:alice:dave" || reqs[0].eventID != reqs[1].eventID {
		t.Fatalf("push event %v (ids %q, %q)", ev, reqs[0].eventID, reqs[1].eventID)
	}
	// bob was pushed only for what arrived while he had no device online.
	for _, r := range hook.requestsFor(t, "bob") {
		var e map[string]any
		_ = json.Unmarshal(r.body, &e)
		if num(t, e, "seq") < 9 {
			t.Fatalf("push for bob's message seq %v sent while he was online", e["seq"])
		}
	}
	mac := hmac.New(sha256.New, []byte(pushSecret))
	mac.Write([]byte(reqs[1].ts + "." + string(reqs[1].body)))
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); reqs[1].sig != want {
		t.Fatalf("push signature %q, want %q", reqs[1].sig, want)
	}

	// mosquitto clients, MQTT 3.1.1: a message to bob, and an rpc with reply_to.
	host, port := hostPort(t, n.addr("tcp"))
	wait := startMosquittoSub(t, "-V", "mqttv311", "-h", host, "-p", port, "-u", "bob", "-P", "bob-pw",
		"-i", "bob-script", "-q", "1", "-C", "1", "-W", "15", "-t", "im/u/bob/msg")
	wait("SUBACK")
	if o, err := runCmd(t, 10*time.Second, nil, "mosquitto_pub", "-V", "mqttv311", "-h", host, "-p", port,
		"-u", "alice", "-P", "alice-pw", "-q", "1", "-t", "im/send/user/bob", "-m", `{"cid":"sh-1","body":"from a script"}`); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, o)
	}
	wait(`"body":"from a script"`)
	wait = startMosquittoSub(t, "-V", "mqttv311", "-h", host, "-p", port, "-u", "alice", "-P", "alice-pw",
		"-i", "alice-script", "-q", "1", "-C", "1", "-W", "15", "-t", "im/u/alice/rpc/sh")
	wait("SUBACK")
	if o, err := runCmd(t, 10*time.Second, nil, "mosquitto_pub", "-V", "mqttv311", "-h", host, "-p", port,
		"-u", "alice", "-P", "alice-pw", "-q", "1", "-t", "im/rpc/history",
		"-m", `{"rid":"r1","conv":"d:alice:bob","limit":2,"reply_to":"im/u/alice/rpc/sh"}`); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, o)
	}
	if out := wait(`"rid":"r1"`); !strings.Contains(out, `"ok":true`) || !strings.Contains(out, `"method":"history"`) {
		t.Fatalf("3.1.1 rpc with reply_to: %s", out)
	}
}

// TestIMAccessDenied: spoofing and ACL cases are refused with a reason code.
func TestIMAccessDenied(t *testing.T) {
	n := imNodeAuth(t, "", "")
	alice := imConnect(t, n, "alice", "alice-1")
	carol := imConnect(t, n, "carol", "carol-1")
	erin := imConnect(t, n, "erin", "erin-1")

	// Publishing into another user's downlink or the presence tree.
	// (A malformed up topic gets 0x90 and an ack: TestIMBadTopicAnswered.)
	for _, topic := range []string{"im/u/bob/msg", "im/u/alice/msg", "im/presence/alice", "im/notify/all"} {
		if code := alice.publish(t, topic, map[string]any{"cid": "x", "body": "x"}, nil); code != 0x87 {
			t.Errorf("publish %s: PUBACK %#x, want 0x87", topic, code)
		}
	}
	// Subscribing to another user's tree, wildcards across users, another's presence.
	for _, f := range []string{"im/u/bob/#", "im/u/+/msg", "im/#", "im/send/user/bob", "$share/g/im/u/bob/#"} {
		alice.subscribe(t, f, 0x87)
	}
	// A broad subscription outside im/ never receives another user's messages.
	erin.subscribe(t, "#", 0)
	// A group alice is not in.
	g := carol.rpc(t, "group.create", map[string]any{"name": "private", "users": []string{"dave"}})
	if g["ok"] != true {
		t.Fatalf("group.create: %v", g)
	}
	if code := alice.publish(t, "im/send/group/"+g["group"].(string), map[string]any{"cid": "x1", "body": "let me in"}, nil); code != 0x87 {
		t.Fatalf("send to a foreign group: PUBACK %#x, want 0x87", code)
	}
	if r := alice.rpc(t, "history", map[string]any{"conv": g["conv"]}); r["ok"] != false || num(t, r, "code") != 0x87 {
		t.Fatalf("history of a foreign group: %v", r)
	}
	if r := alice.rpc(t, "group.kick", map[string]any{"group": g["group"], "user": "dave"}); r["ok"] != false || num(t, r, "code") != 0x87 {
		t.Fatalf("kick in a foreign group: %v", r)
	}
	// A reply topic in someone else's tree is refused.
	if code := alice.publish(t, "im/rpc/conversations", map[string]any{"reply_to": "im/u/bob/rpc/steal"}, nil); code != 0x90 {
		t.Fatalf("reply_to into bob's tree: PUBACK %#x, want 0x90", code)
	}
	if code := alice.publish(t, "im/rpc/conversations", map[string]any{}, &paho.PublishProperties{ResponseTopic: "im/u/bob/rpc/steal"}); code != 0x90 {
		t.Fatalf("response topic in bob's tree: PUBACK %#x, want 0x90", code)
	}
	// Presence: alice shares nothing with erin, so she may not watch erin.
	alice.subscribe(t, "im/presence/erin", 0x87)
	// Notifications are for admins only.
	if r := alice.rpc(t, "notify", map[string]any{"to": map[string]any{"all": true}, "body": "spam"}); r["ok"] != false || num(t, r, "code") != 0x87 {
		t.Fatalf("notify by a non-admin: %v", r)
	}
	// Malformed payloads: 0x99.
	for _, p := range [][]byte{[]byte("not json"), []byte(`{"cid":"","body":"x"}`), []byte(`[1,2]`), []byte(`{"cid":"a","body":""}`)} {
		if code := alice.publish(t, "im/send/user/carol", p, nil); code != 0x99 {
			t.Errorf("payload %q: PUBACK %#x, want 0x99", p, code)
		}
	}
	// Nothing of this reached erin's "#" or carol's inbox.
	carol.send(t, "im/send/user/alice", "ok1", "a real message")
	alice.await(t, "msg", func(m map[string]any) bool { return m["cid"] == "ok1" })
	erin.quiet(t, "msg", 300*time.Millisecond)
	for _, p := range erin.backlog {
		if strings.HasPrefix(p.Topic, "im/u/") && !strings.HasPrefix(p.Topic, "im/u/erin/") {
			t.Fatalf("erin's # subscription received %s", p.Topic)
		}
	}
}

// TestIMLimits: the rate limit answers 0x96 and the word filter in reject mode
// 0x83, on the PUBACK and on the ack topic.
func TestIMLimits(t *testing.T) {
	words := writeFile(t, t.TempDir(), "words.txt", "badword\n")
	n := imNodeAuth(t, "", fmt.Sprintf(`  filter: {enabled: true, file: %s, mode: reject}
  rate_limit: {messages_per_second: 5, burst: 5}
`, words))
	flood := imConnect(t, n, "flood", "flood-1")
	limited := 0
	for i := 0; i < 20; i++ {
		if code := flood.publish(t, "im/send/user/alice", map[string]any{"cid": fmt.Sprint(i), "body": "x"}, nil); code == 0x96 {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("20 sends at once with a 5/s limit: no 0x96")
	}
	flood.await(t, "ack", func(m map[string]any) bool { return m["code"] == float64(0x96) })

	alice := imConnect(t, n, "alice", "alice-1")
	if code := alice.publish(t, "im/send/user/bob", map[string]any{"cid": "bad", "body": "a badword here"}, nil); code != 0x83 {
		t.Fatalf("filtered word: PUBACK %#x, want 0x83", code)
	}
	a := alice.await(t, "ack", func(m map[string]any) bool { return m["cid"] == "bad" })
	if a["ok"] != false || !strings.HasPrefix(a["reason"].(string), "content rejected") {
		t.Fatalf("filtered ack: %v", a)
	}
}

// imAdmin sends an admin API request with a JSON body (nil: none) and returns
// the status and the decoded JSON answer.
func imAdmin(t *testing.T, n *node, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var js string
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		js = string(b)
	}
	status, b := n.adminAPI(t, method, path, js)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %v", method, path, status, err)
	}
	return status, out
}

// TestIMAdminAPI: the operator lists groups and members and sends notifications
// to a user, a group and everyone through the admin API; errors are JSON with
// the right status.
func TestIMAdminAPI(t *testing.T) {
	n := imNode(t, "")
	alice := imConnect(t, n, "alice", "alice-1")
	bob := imConnect(t, n, "bob", "bob-1")
	bob.subscribe(t, "im/notify/all", 0)
	g := alice.rpc(t, "group.create", map[string]any{"name": "ops", "users": []string{"bob"}})
	group := g["group"].(string)

	st, list := imAdmin(t, n, "GET", "/api/v1/im/groups?limit=10", nil)
	items, _ := list["items"].([]any)
	if st != 200 || len(items) != 1 || items[0].(map[string]any)["group"] != group || items[0].(map[string]any)["members"] != float64(2) {
		t.Fatalf("list groups: %d %v", st, list)
	}
	st, detail := imAdmin(t, n, "GET", "/api/v1/im/groups/"+group, nil)
	if ms, _ := detail["members"].([]any); st != 200 || len(ms) != 2 || detail["name"] != "ops" {
		t.Fatalf("group detail: %d %v", st, detail)
	}
	if st, e := imAdmin(t, n, "GET", "/api/v1/im/groups/424242", nil); st != 404 || e["error"] == nil {
		t.Fatalf("unknown group: %d %v", st, e)
	}

	for _, c := range []struct {
		to    map[string]any
		topic string
	}{
		{map[string]any{"user": "bob"}, "im/u/bob/notify"},
		{map[string]any{"group": group}, "im/u/bob/notify"},
		{map[string]any{"all": true}, "im/notify/all"},
	} {
		if st, r := imAdmin(t, n, "POST", "/api/v1/im/notify", map[string]any{"to": c.to, "title": "ops", "body": "maintenance"}); st != 200 {
			t.Fatalf("notify %v: %d %v", c.to, st, r)
		}
		m := bob.awaitTopic(t, c.topic, nil)
		if m["from"] != "admin" || m["body"] != "maintenance" || m["type"] != "notify" {
			t.Fatalf("notification on %s: %v", c.topic, m)
		}
	}
	alice.await(t, "notify", nil) // the group notification reached alice too
	for _, bad := range []any{
		map[string]any{"to": map[string]any{}, "body": "x"},
		map[string]any{"to": map[string]any{"user": "bob"}, "body": ""},
		map[string]any{"to": map[string]any{"group": "424242"}, "body": "x"},
	} {
		st, e := imAdmin(t, n, "POST", "/api/v1/im/notify", bad)
		if (st != 400 && st != 404) || e["error"] == nil {
			t.Fatalf("notify %v: %d %v", bad, st, e)
		}
	}
	// The operator's calls are in the log with who made them.
	n.waitLog(5*time.Second, `"action":"im_notify"`, `"principal"`)

	// The same through imqttd ctl.
	ctl := func(args ...string) string {
		t.Helper()
		out, err := runCmd(t, 30*time.Second, nil, imqttdBin, append([]string{"ctl", "--addr", "http://" + n.addr("admin"), "--token", n.adminToken()}, args...)...)
		if err != nil {
			t.Fatalf("imqttd ctl %v: %v\n%s", args, err, out)
		}
		return out
	}
	if out := ctl("im-groups"); !strings.Contains(out, group) || !strings.Contains(out, "ops") {
		t.Fatalf("ctl im-groups:\n%s", out)
	}
	if out := ctl("im-group", group); !strings.Contains(out, "alice") || !strings.Contains(out, "owner") {
		t.Fatalf("ctl im-group:\n%s", out)
	}
	if out := ctl("notify", "--to-user", "bob", "--title", "t", "from the cli"); !strings.Contains(out, "sent to 1 topic") {
		t.Fatalf("ctl notify:\n%s", out)
	}
	if m := bob.awaitTopic(t, "im/u/bob/notify", nil); m["body"] != "from the cli" {
		t.Fatalf("ctl notification: %v", m)
	}
	if out, err := runCmd(t, 30*time.Second, nil, imqttdBin, "ctl", "--addr", "http://"+n.addr("admin"), "--token", n.adminToken(), "notify", "x"); err == nil {
		t.Fatalf("ctl notify without a target succeeded:\n%s", out)
	}
}

// TestIMSendingDeviceGetsAck: a user's sending device gets the ack of its
// send, not a copy of the message, while it is the user's only device; with a
// second device subscribed, every device of the user gets the copy (the
// sending one too, matched by cid).
func TestIMSendingDeviceGetsAck(t *testing.T) {
	n := imNodeAuth(t, "", "  rate_limit: {messages_per_second: 0}\n")
	alice1 := imConnect(t, n, "alice", "alice-phone")
	bob := imConnect(t, n, "bob", "bob-phone")

	ack := alice1.send(t, "im/send/user/bob", "one", "hi bob")
	if ack["ok"] != true || num(t, ack, "seq") != 1 {
		t.Fatalf("ack: %v", ack)
	}
	if m := bob.await(t, "msg", nil); num(t, m, "seq") != 1 || m["cid"] != "one" {
		t.Fatalf("bob got %v", m)
	}
	alice1.quiet(t, "msg", 300*time.Millisecond)

	alice2 := imConnect(t, n, "alice", "alice-laptop")
	ack = alice1.send(t, "im/send/user/bob", "two", "hi again")
	if ack["ok"] != true || num(t, ack, "seq") != 2 {
		t.Fatalf("ack: %v", ack)
	}
	for _, c := range []*imClient{alice1, alice2, bob} {
		if m := c.await(t, "msg", nil); num(t, m, "seq") != 2 || m["cid"] != "two" || m["from"] != "alice" {
			t.Fatalf("%s got %v", c.user, m)
		}
	}
}
