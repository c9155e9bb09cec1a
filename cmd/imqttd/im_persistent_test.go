package main

import (
	"strings"
	"testing"
)

// TestIMPersistentSessionResume: bob keeps a persistent session subscribed to
// his inbox (mosquitto_sub -c, as docs/protocol.md shows), alice messages him
// while he is away, bob reconnects with the same command line. He gets each
// queued message exactly once and his re-SUBSCRIBE (packet id 1, the id of
// the first queued PUBLISH) is granted. Before the storage veto was consulted
// ahead of the IM policy, mochi also kept the messages in its own in-flight map
// and re-sent them (DUP=1) beside the pump's copies, and the SUBSCRIBE got
// 0x91 (packet identifier in use): mosquitto_sub printed "All subscription
// requests were denied" and exited.
func TestIMPersistentSessionResume(t *testing.T) {
	for _, version := range []string{"mqttv5", "mqttv311"} {
		t.Run(version, func(t *testing.T) {
			n := imNode(t, "")
			bobArgs := mosqArgs(n, version, "bob", "bob-tablet", "im/u/bob/#")
			bobWait, bobStop := startMosquittoSubProc(t, bobArgs...)
			bobWait("SUBACK")
			bobStop()
			waitOffline(t, n, "bob-tablet")

			alice := imConnect(t, n, "alice", "alice-phone")
			alice.send(t, "im/send/user/bob", "q1", "queued one")
			alice.send(t, "im/send/user/bob", "q2", "queued two")

			bobWait, _ = startMosquittoSubProc(t, bobArgs...)
			bobWait("Subscribed (mid: 1)")
			// A live message after the SUBACK: once it is in, every queued
			// copy (and any stray re-send) is in too.
			alice.send(t, "im/send/user/bob", "l1", "live three")
			out := bobWait("live three")
			if strings.Contains(out, "denied") || !strings.Contains(out, "Subscribed (mid: 1): 1") {
				t.Fatalf("bob's re-SUBSCRIBE was not granted QoS 1:\n%s", out)
			}
			for _, body := range []string{"queued one", "queued two", "live three"} {
				if c := strings.Count(out, `"body":"`+body+`"`); c != 1 {
					t.Fatalf("%q received %d times, want once:\n%s", body, c, out)
				}
			}
			if i, j := strings.Index(out, "queued one"), strings.Index(out, "queued two"); i > j {
				t.Fatalf("queued messages out of order:\n%s", out)
			}
		})
	}
}
