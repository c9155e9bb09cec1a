package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// waitPush polls the webhook until match accepts one of user's events (its
// decoded body) and returns it.
func (w *webhook) waitPush(t *testing.T, user string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, r := range w.requestsFor(t, user) {
			var ev map[string]any
			if err := json.Unmarshal(r.body, &ev); err != nil {
				t.Fatalf("push body %q: %v", r.body, err)
			}
			if match(ev) {
				return ev
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching push for %s within 10s", user)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mosquittoPub311 runs mosquitto_pub (MQTT 3.1.1) as user with QoS 1.
func mosquittoPub311(t *testing.T, n *node, user, topic, msg string) {
	t.Helper()
	host, port := hostPort(t, n.addr("tcp"))
	if o, err := runCmd(t, 10*time.Second, nil, "mosquitto_pub", "-V", "mqttv311", "-h", host, "-p", port,
		"-u", user, "-P", user+"-pw", "-q", "1", "-t", topic, "-m", msg); err != nil {
		t.Fatalf("mosquitto_pub %s: %v %s", topic, err, o)
	}
}

// mosquittoSub311 starts mosquitto_sub (MQTT 3.1.1) as user on topic and waits
// for its SUBACK.
func mosquittoSub311(t *testing.T, n *node, user, id, topic string) func(string) string {
	t.Helper()
	host, port := hostPort(t, n.addr("tcp"))
	wait := startMosquittoSub(t, "-V", "mqttv311", "-h", host, "-p", port, "-u", user, "-P", user+"-pw",
		"-i", id, "-q", "1", "-W", "30", "-t", topic)
	wait("SUBACK")
	return wait
}

// TestIMBlock: bob, blocked by alice, gets 0x87 "blocked" for his direct
// sends (paho v5 and mosquitto 3.1.1), typing and presence are hidden both
// ways, the group they share is not affected, and unblock restores it.
func TestIMBlock(t *testing.T) {
	n := imNodeAuth(t, "", "")
	alice := imConnect(t, n, "alice", "alice-phone")
	alice2 := imConnect(t, n, "alice", "alice-laptop")
	bob := imConnect(t, n, "bob", "bob-phone")
	carol := imConnect(t, n, "carol", "carol-phone")
	bob.send(t, "im/send/user/alice", "b1", "hi alice")
	g := alice.rpc(t, "group.create", map[string]any{"name": "team", "users": []string{"bob", "carol"}})
	group := g["group"].(string)
	bob.subscribe(t, "im/presence/alice", 0)
	carol.subscribe(t, "im/presence/alice", 0)
	if s := bob.presenceOf(t, "alice", 10*time.Second); s != "online" {
		t.Fatalf("bob sees alice %q before the block", s)
	}
	carol.presenceOf(t, "alice", 10*time.Second)

	if r := alice.rpc(t, "block", map[string]any{"user": "bob"}); r["ok"] != true || r["blocked"] != true {
		t.Fatalf("block: %v", r)
	}
	if ev := alice2.await(t, "prefs", nil); ev["event"] != "block" || ev["user"] != "bob" || ev["blocked"] != true {
		t.Fatalf("block event on the other device: %v", ev)
	}

	// bob's direct send: 0x87 on the PUBACK and the ack, nothing for alice.
	if code := bob.publish(t, "im/send/user/alice", map[string]any{"cid": "b2", "body": "why?"}, nil); code != 0x87 {
		t.Fatalf("blocked send: PUBACK %#x, want 0x87", code)
	}
	if a := bob.await(t, "ack", func(m map[string]any) bool { return m["cid"] == "b2" }); a["ok"] != false || a["reason"] != "blocked" {
		t.Fatalf("blocked ack %v", a)
	}
	// The same from mosquitto 3.1.1: the ack topic says so.
	wait := mosquittoSub311(t, n, "bob", "bob-script", "im/u/bob/ack")
	mosquittoPub311(t, n, "bob", "im/send/user/alice", `{"cid":"b3","body":"from a script"}`)
	if out := wait(`"cid":"b3"`); !strings.Contains(out, `"code":135`) || !strings.Contains(out, `"reason":"blocked"`) {
		t.Fatalf("3.1.1 blocked ack: %s", out)
	}
	// alice cannot write to bob while she blocks him.
	if code := alice.publish(t, "im/send/user/bob", map[string]any{"cid": "a1", "body": "x"}, nil); code != 0x87 {
		t.Fatalf("blocker's send: PUBACK %#x", code)
	}
	// Typing, both ways.
	if code := bob.publish(t, "im/typing/d:alice:bob", map[string]any{"state": "start"}, nil); code != 0x87 {
		t.Fatalf("blocked typing: PUBACK %#x", code)
	}
	if code := alice.publish(t, "im/typing/d:alice:bob", map[string]any{"state": "start"}, nil); code != 0x87 {
		t.Fatalf("blocker's typing: PUBACK %#x", code)
	}
	// Nothing of it reached alice's devices.
	for i, c := range []*imClient{alice, alice2} {
		c.quiet(t, "typing", 200*time.Millisecond)
		for _, p := range c.backlog {
			if p.Topic == "im/u/alice/msg" && (strings.Contains(string(p.Payload), `"cid":"b2"`) || strings.Contains(string(p.Payload), `"cid":"b3"`)) {
				t.Fatalf("alice's device %d got a blocked message %s", i, p.Payload)
			}
		}
	}
	// Presence: no new subscription, and the old one gets no update.
	bob.subscribe(t, "im/presence/alice", 0x87)
	alice.subscribe(t, "im/presence/bob", 0x87)
	alice.close()
	alice2.close()
	if s := carol.presenceOf(t, "alice", 10*time.Second); s != "offline" {
		t.Fatalf("carol sees alice %q, want offline", s)
	}
	if s := bob.presenceOf(t, "alice", 500*time.Millisecond); s != "" {
		t.Fatalf("blocked bob saw alice %q", s)
	}
	alice = imConnect(t, n, "alice", "alice-phone")
	carol.presenceOf(t, "alice", 10*time.Second)

	// The group is not affected.
	bob.send(t, "im/send/group/"+group, "g1", "group still works")
	if m := alice.await(t, "msg", func(m map[string]any) bool { return m["cid"] == "g1" }); m["from"] != "bob" {
		t.Fatalf("group message %v", m)
	}

	// Listed, then unblocked: bob writes again, seq 2 (the refusals took none).
	if r := alice.rpc(t, "block.list", map[string]any{}); fmt.Sprint(r["blocked"]) == "[]" {
		t.Fatalf("block.list: %v", r)
	}
	if r := alice.rpc(t, "unblock", map[string]any{"user": "bob"}); r["ok"] != true || r["blocked"] != false {
		t.Fatalf("unblock: %v", r)
	}
	if a := bob.send(t, "im/send/user/alice", "b4", "friends again"); num(t, a, "seq") != 2 {
		t.Fatalf("after unblock: %v", a)
	}
	bob.subscribe(t, "im/presence/alice", 0)
}

// TestIMMuteMention: a muted group gets no push for its members (a real
// HTTP webhook), a mention pushes anyway with "mention":true; the mention is
// sent by mosquitto 3.1.1 and seen live with its marker.
func TestIMMuteMention(t *testing.T) {
	hook := newWebhook(t)
	n := imNodeAuth(t, "", fmt.Sprintf("  push: {url: %q, secret: %q, backoff_min: 20ms, backoff_max: 50ms}\n", hook.srv.URL, pushSecret))
	alice := imConnect(t, n, "alice", "alice-phone")
	g := alice.rpc(t, "group.create", map[string]any{"name": "team", "users": []string{"bob", "carol", "dave"}})
	group, conv := g["group"].(string), g["conv"].(string)
	bob := imConnect(t, n, "bob", "bob-phone")
	if r := bob.rpc(t, "conversation.set", map[string]any{"conv": conv, "set": map[string]any{"mute": true}}); r["ok"] != true {
		t.Fatalf("mute: %v", r)
	}
	bob.close()
	carol := imConnect(t, n, "carol", "carol-phone") // online: gets the live marker

	// A plain message: dave (offline, not muted) is pushed, bob (muted) not.
	alice.send(t, "im/send/group/"+group, "p1", "plain")
	hook.waitPush(t, "dave", func(ev map[string]any) bool { return num(t, ev, "seq") == 2 })
	hook.waitPush(t, "dave", func(ev map[string]any) bool { return num(t, ev, "attempt") == 2 }) // its retry came after
	if reqs := hook.requestsFor(t, "bob"); len(reqs) != 0 {
		t.Fatalf("muted bob pushed: %s", reqs[0].body)
	}
	// A mention of bob and carol from mosquitto 3.1.1: bob is pushed with the mention.
	mosquittoPub311(t, n, "alice", "im/send/group/"+group, `{"cid":"m1","body":"@bob @carol look","mentions":["bob","carol"]}`)
	ev := hook.waitPush(t, "bob", func(map[string]any) bool { return true })
	if ev["mention"] != true || ev["conv"] != conv || ev["from"] != "alice" || num(t, ev, "seq") != 3 {
		t.Fatalf("mention push %v", ev)
	}
	m := carol.await(t, "msg", func(m map[string]any) bool { return m["cid"] == "m1" })
	if m["mention"] != true || fmt.Sprint(m["mentions"]) != "[bob carol]" {
		t.Fatalf("carol's live copy %v", m)
	}
	// dave was not mentioned: his push has no marker.
	if ev := hook.waitPush(t, "dave", func(ev map[string]any) bool { return num(t, ev, "seq") == 3 }); ev["mention"] != nil {
		t.Fatalf("dave's push %v", ev)
	}
	// "all" is for admins: carol (member) is refused, alice (owner) is not.
	if code := carol.publish(t, "im/send/group/"+group, map[string]any{"cid": "c1", "body": "all!", "mentions": "all"}, nil); code != 0x87 {
		t.Fatalf("member mentions all: PUBACK %#x", code)
	}
}

// TestIMConvSettings: pin, archive and a name set from one device reach the
// user's other devices (paho v5 and mosquitto 3.1.1) and are returned by
// conversations.
func TestIMConvSettings(t *testing.T) {
	n := imNodeAuth(t, "", "")
	phone := imConnect(t, n, "alice", "alice-phone")
	laptop := imConnect(t, n, "alice", "alice-laptop")
	bob := imConnect(t, n, "bob", "bob-phone")
	phone.send(t, "im/send/user/bob", "s1", "hi")
	script := mosquittoSub311(t, n, "alice", "alice-script", "im/u/alice/prefs")

	r := phone.rpc(t, "conversation.set", map[string]any{"conv": "d:alice:bob", "set": map[string]any{"pin": true, "archive": true, "name": "Bobby"}})
	if r["ok"] != true || r["conv"] != "d:alice:bob" {
		t.Fatalf("conversation.set: %v", r)
	}
	ev := laptop.await(t, "prefs", nil)
	set, _ := ev["settings"].(map[string]any)
	if ev["event"] != "conversation" || ev["conv"] != "d:alice:bob" || set["pin"] != true || set["archive"] != true || set["name"] != "Bobby" {
		t.Fatalf("settings event on the laptop: %v", ev)
	}
	if out := script(`"name":"Bobby"`); !strings.Contains(out, `"pin":true`) {
		t.Fatalf("3.1.1 device: %s", out)
	}
	convs := laptop.rpc(t, "conversations", map[string]any{})
	c := convs["conversations"].([]any)[0].(map[string]any)
	set, _ = c["settings"].(map[string]any)
	if set["pin"] != true || set["archive"] != true || set["name"] != "Bobby" || set["mute"] != nil {
		t.Fatalf("conversations: %v", c)
	}
	// bob's view is his own.
	if c := bob.rpc(t, "conversations", map[string]any{})["conversations"].([]any)[0].(map[string]any); c["settings"] != nil {
		t.Fatalf("bob sees alice's settings: %v", c)
	}
	// From mosquitto 3.1.1: mute; the phone follows.
	mosquittoPub311(t, n, "alice", "im/rpc/conversation.set", `{"conv":"d:alice:bob","set":{"mute":true,"name":""},"reply_to":"im/u/alice/rpc/s"}`)
	ev = phone.await(t, "prefs", func(m map[string]any) bool { return m["settings"].(map[string]any)["mute"] == true })
	if set := ev["settings"].(map[string]any); set["name"] != nil || set["pin"] != true {
		t.Fatalf("after mute: %v", ev)
	}
}
