package main

import (
	"strings"
	"testing"
	"time"
)

// TestIMBadTopicAnswered: a publish under im/ that is not a well-formed up
// topic (an unknown rpc method, an invalid user or group id, an unknown
// level) is answered with 0x90 "invalid topic" on the PUBACK (MQTT 5 QoS 1)
// and an ack on im/u/{user}/ack (the rpc response topic for im/rpc/...); an
// MQTT 3.1.1 publisher stays connected and gets the ack. The server's own
// trees stay closed: 0x87 and no answer (docs/protocol.md "Access").
func TestIMBadTopicAnswered(t *testing.T) {
	n := imNode(t, "")
	alice := imConnect(t, n, "alice", "alice-1")

	for _, topic := range []string{"im/send/user/bad*name", "im/send/group/x*y", "im/send/room/x", "im/nothing", "im/receipt/d:bob:alice"} {
		if code := alice.publish(t, topic, map[string]any{"cid": "b1", "body": "x"}, nil); code != 0x90 {
			t.Errorf("publish %s: PUBACK %#x, want 0x90", topic, code)
		}
		a := alice.await(t, "ack", func(m map[string]any) bool { return m["topic"] == topic })
		if a["ok"] != false || num(t, a, "code") != 0x90 || !strings.HasPrefix(a["reason"].(string), "invalid topic") {
			t.Errorf("ack for %s: %v", topic, a)
		}
	}
	if code := alice.publish(t, "im/rpc/no.such.method", map[string]any{"rid": "u1"}, nil); code != 0x90 {
		t.Errorf("unknown method: PUBACK %#x, want 0x90", code)
	}
	if r := alice.await(t, "rpc", func(m map[string]any) bool { return m["method"] == "no.such.method" }); r["ok"] != false || num(t, r, "code") != 0x90 {
		t.Errorf("unknown method response: %v", r)
	}

	// The server's trees: refused by the access check, never answered.
	for _, topic := range []string{"im/u/bob/msg", "im/u/alice/ack", "im/presence/alice", "im/notify/all", "im/u"} {
		if code := alice.publish(t, topic, map[string]any{"cid": "s1", "body": "x"}, nil); code != 0x87 {
			t.Errorf("publish %s: PUBACK %#x, want 0x87", topic, code)
		}
	}
	alice.quiet(t, "ack", 200*time.Millisecond)

	// MQTT 3.1.1 (mosquitto_pub): the publish is acknowledged (no PUBACK
	// code in 3.1.1), the client is not disconnected, and the ack says 0x90.
	host, port := hostPort(t, n.addr("tcp"))
	for i, topic := range []string{"im/nothing/v3", "im/send/user/b*b"} {
		cid := "v3-" + string(rune('a'+i))
		o, err := runCmd(t, 10*time.Second, nil, "mosquitto_pub", "-d", "-V", "mqttv311", "-h", host, "-p", port,
			"-u", "alice", "-P", "alice-pw", "-i", "alice-v3", "-q", "1", "-t", topic, "-m", `{"cid":"`+cid+`","body":"x"}`)
		if err != nil || !strings.Contains(o, "PUBACK") {
			t.Fatalf("mosquitto_pub %s: %v\n%s", topic, err, o)
		}
		// The payload of a bad topic is not read: the ack names the topic, no cid.
		a := alice.await(t, "ack", func(m map[string]any) bool { return m["topic"] == topic })
		if a["ok"] != false || num(t, a, "code") != 0x90 || a["cid"] != nil {
			t.Errorf("3.1.1 ack for %s: %v", topic, a)
		}
	}
}
