package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/persist"
)

// TestIMEditRecallReactions: edit, recall and reactions against a real
// imqttd, with paho (MQTT 5) devices and the mosquitto clients (3.1.1): the
// events are seen live by the other side and by a device that syncs later,
// history returns the messages as they are now with their reactions, a
// recall after its window is refused with its code, a group owner recalls a
// member's message, the push webhook hears of a recall for an offline user,
// and the recalled bodies are gone from the store.
func TestIMEditRecallReactions(t *testing.T) {
	const window = 3 * time.Second
	hook := newWebhook(t)
	n := imNode(t, fmt.Sprintf("  recall_window: 3s\n  push: {url: %q, secret: %q, backoff_min: 50ms, backoff_max: 200ms}\n",
		hook.srv.URL, pushSecret))
	host, port := hostPort(t, n.addr("tcp"))
	alice := imConnect(t, n, "alice", "alice-1")
	bob := imConnect(t, n, "bob", "bob-1")
	const conv = "d:alice:bob"
	isType := func(typ string, target uint64) func(map[string]any) bool {
		return func(m map[string]any) bool { return m["type"] == typ && m["target"] == float64(target) }
	}

	// bob's script, MQTT 3.1.1, watches his messages.
	bobSub := startMosquittoSub(t, "-V", "mqttv311", "-h", host, "-p", port, "-u", "bob", "-P", "bob-pw",
		"-i", "bob-script", "-q", "1", "-W", "30", "-t", "im/u/bob/msg")
	bobSub("SUBACK")

	a1 := alice.send(t, "im/send/user/bob", "m1", "first-secret")
	a2 := alice.send(t, "im/send/user/bob", "m2", "second-secret")
	s1, s2 := num(t, a1, "seq"), num(t, a2, "seq")
	sentAt := time.UnixMilli(int64(num(t, a2, "ts")))

	// Edit (paho): bob's devices see the event live.
	r := alice.rpc(t, "msg.edit", map[string]any{"conv": conv, "seq": s1, "body": "first-edited"})
	if r["ok"] != true || num(t, r, "target") != s1 || r["changed"] != true {
		t.Fatalf("edit response %v", r)
	}
	if ev := bob.await(t, "msg", isType("edit", s1)); ev["body"] != "first-edited" || ev["from"] != "alice" {
		t.Fatalf("bob's edit event %v", ev)
	}
	bobSub(`"type":"edit"`)

	// Recall (mosquitto_pub, 3.1.1, reply_to).
	aliceSub := startMosquittoSub(t, "-V", "mqttv311", "-h", host, "-p", port, "-u", "alice", "-P", "alice-pw",
		"-i", "alice-script", "-q", "1", "-W", "30", "-t", "im/u/alice/rpc/sh")
	aliceSub("SUBACK")
	if o, err := runCmd(t, 10*time.Second, nil, "mosquitto_pub", "-V", "mqttv311", "-h", host, "-p", port,
		"-u", "alice", "-P", "alice-pw", "-q", "1", "-t", "im/rpc/msg.recall",
		"-m", `{"rid":"rc1","conv":"d:alice:bob","seq":1,"reply_to":"im/u/alice/rpc/sh"}`); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, o)
	}
	if out := aliceSub(`"rid":"rc1"`); !strings.Contains(out, `"ok":true`) || !strings.Contains(out, `"method":"msg.recall"`) {
		t.Fatalf("3.1.1 recall: %s", out)
	}
	if ev := bob.await(t, "msg", isType("recall", s1)); ev["body"] != nil || ev["from"] != "alice" {
		t.Fatalf("bob's recall event %v", ev)
	}
	bobSub(`"type":"recall"`)

	// Reactions: bob reacts (paho), alice sees it live and in history.
	if r := bob.rpc(t, "msg.react", map[string]any{"conv": conv, "seq": s2, "emoji": "👍"}); r["ok"] != true || r["changed"] != true {
		t.Fatalf("react %v", r)
	}
	if ev := alice.await(t, "msg", isType("reaction", s2)); ev["emoji"] != "👍" || ev["from"] != "bob" {
		t.Fatalf("alice's reaction event %v", ev)
	}
	reactionsIn := func(c *imClient) string {
		t.Helper()
		h := c.rpc(t, "history", map[string]any{"conv": conv})
		for _, x := range h["messages"].([]any) {
			if m := x.(map[string]any); m["seq"] == float64(s2) {
				b, _ := json.Marshal(m["reactions"])
				return string(b)
			}
		}
		t.Fatalf("no seq %d in history %v", s2, h)
		return ""
	}
	if got := reactionsIn(alice); got != `[{"count":1,"emoji":"👍"}]` {
		t.Fatalf("alice's history reactions %s", got)
	}
	if got := reactionsIn(bob); got != `[{"count":1,"emoji":"👍","me":true}]` {
		t.Fatalf("bob's history reactions %s", got)
	}

	// dave is offline: the push webhook is told of the recall.
	d1 := alice.send(t, "im/send/user/dave", "d1", "to dave")
	if r := alice.rpc(t, "msg.recall", map[string]any{"conv": "d:alice:dave", "seq": num(t, d1, "seq")}); r["ok"] != true {
		t.Fatalf("recall to dave %v", r)
	}
	pushed := func() map[string]any {
		for _, r := range hook.requestsFor(t, "dave") {
			var ev map[string]any
			if json.Unmarshal(r.body, &ev) == nil && ev["event"] == "recall" {
				return ev
			}
		}
		return nil
	}
	for deadline := time.Now().Add(10 * time.Second); pushed() == nil && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if ev := pushed(); ev == nil || ev["target"] != float64(num(t, d1, "seq")) || ev["conv"] != "d:alice:dave" || ev["preview"] != "" {
		t.Fatalf("push of the recall: %v", ev)
	}

	// A device of bob's that syncs later gets the message as it is now and
	// the events themselves.
	bob2 := imConnect(t, n, "bob", "bob-2")
	sr := bob2.rpc(t, "sync", map[string]any{})
	var types []string
	for _, x := range sr["messages"].([]any) {
		m := x.(map[string]any)
		types = append(types, m["type"].(string))
		switch {
		case m["seq"] == float64(s1):
			if m["recalled"] != true || m["body"] != nil {
				t.Fatalf("synced recalled message %v", m)
			}
		case m["type"] == "edit":
			if m["recalled"] != true || m["body"] != nil {
				t.Fatalf("synced edit of a recalled message %v", m)
			}
		case m["seq"] == float64(s2):
			if m["body"] != "second-secret" {
				t.Fatalf("synced message %v", m)
			}
		}
	}
	if strings.Join(types, ",") != "text,text,edit,recall,reaction" {
		t.Fatalf("synced types %v", types)
	}

	// A recall after its window: PUBACK 0x83 and the reply says why.
	time.Sleep(time.Until(sentAt.Add(window + 200*time.Millisecond))) // let the window pass
	rt := "im/u/alice/rpc/late"
	code := alice.publish(t, "im/rpc/msg.recall", map[string]any{"conv": conv, "seq": s2},
		&paho.PublishProperties{ResponseTopic: rt, CorrelationData: []byte("late")})
	if r := alice.awaitTopic(t, rt, nil); code != 0x83 || r["ok"] != false || r["code"] != float64(0x83) ||
		!strings.HasPrefix(r["reason"].(string), "window passed") {
		t.Fatalf("late recall: PUBACK %#x, reply %v", code, r)
	}

	// A group owner recalls a member's message, whatever its age.
	carol := imConnect(t, n, "carol", "carol-1")
	g := alice.rpc(t, "group.create", map[string]any{"name": "team", "users": []string{"bob", "carol"}})
	gid := g["group"].(string)
	ga := bob.send(t, "im/send/group/"+gid, "g1", "group-secret")
	gs := num(t, ga, "seq")
	carol.await(t, "msg", func(m map[string]any) bool { return m["body"] == "group-secret" })
	if r := carol.rpc(t, "msg.recall", map[string]any{"conv": "g:" + gid, "seq": gs}); r["ok"] != false || r["code"] != float64(0x87) {
		t.Fatalf("member's recall of another's message %v", r)
	}
	if r := alice.rpc(t, "msg.recall", map[string]any{"conv": "g:" + gid, "seq": gs}); r["ok"] != true {
		t.Fatalf("owner's recall %v", r)
	}
	if ev := carol.await(t, "msg", isType("recall", gs)); ev["from"] != "alice" {
		t.Fatalf("carol's recall event %v", ev)
	}

	// The recalled bodies are gone from the store; the others are there.
	for _, c := range []*imClient{alice, bob, bob2, carol} {
		c.close()
	}
	n.stopAndWait()
	pc := persist.DefaultConfig()
	pc.Dir, pc.MinFreeBytes = filepath.Join(n.dir, "data", "fsm"), 0
	st, err := persist.Open(pc, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	found := map[string]bool{}
	for _, l := range "cdghijklopuvwxyz" {
		err := st.ScanRaw([]byte{byte(l), '/'}, persist.ScanOptions{}, func(_, v []byte) error {
			for _, s := range []string{"first-secret", "first-edited", "group-secret", "second-secret"} {
				if bytes.Contains(v, []byte(s)) {
					found[s] = true
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if found["first-secret"] || found["first-edited"] || found["group-secret"] || !found["second-secret"] {
		t.Fatalf("bodies in the store: %v (only second-secret should be)", found)
	}
}
