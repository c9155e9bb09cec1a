package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// Issue 16, finding 2: a session belongs to the user who created it.

// mosqArgs are the mosquitto_sub arguments of the commands: user's
// persistent session id (-c, 1 h expiry for MQTT 5) at QoS 1 on topic.
func mosqArgs(n *node, version, user, id, topic string) []string {
	host, port := hostPortOf(n.addr("tcp"))
	args := []string{"-h", host, "-p", port, "-V", version, "-u", user, "-P", user + "-pw",
		"-i", id, "-c", "-q", "1", "-t", topic, "-v"}
	if version == "mqttv5" {
		args = append(args, "-x", "3600")
	}
	return args
}

func hostPortOf(addr string) (string, string) {
	i := strings.LastIndex(addr, ":")
	return addr[:i], addr[i+1:]
}

// attempt runs mosquitto_sub as eve with bob's client id for at most 3 s and
// returns its output (it ends at once when refused).
func attempt(t *testing.T, args []string) string {
	t.Helper()
	out, _ := runCmd(t, 3*time.Second, nil, "mosquitto_sub", append([]string{"-d", "-W", "2"}, args...)...)
	return out
}

// TestSessionOwnerRefused is the scenario: bob keeps the session
// bob-tablet, alice messages him while he is away, eve connects with the id.
// Eve is refused (MQTT 5 CONNACK 0x87, 3.1.1 return code 5) and receives
// nothing; bob comes back and gets his message; an online bob is not kicked.
func TestSessionOwnerRefused(t *testing.T) {
	for _, tc := range []struct {
		version, refused string
	}{
		{"mqttv5", "CONNACK (135)"},
		{"mqttv311", "CONNACK (5)"},
	} {
		t.Run(tc.version, func(t *testing.T) {
			n := imNode(t, "")
			bobArgs := mosqArgs(n, tc.version, "bob", "bob-tablet", "im/u/bob/#")
			bobWait, bobStop := startMosquittoSubProc(t, bobArgs...)
			bobWait("SUBACK")
			bobStop()
			waitOffline(t, n, "bob-tablet")

			alice := imConnect(t, n, "alice", "alice-phone")
			alice.send(t, "im/send/user/bob", "c1", "secret for bob")

			out := attempt(t, mosqArgs(n, tc.version, "eve", "bob-tablet", "eve/#"))
			if !strings.Contains(out, tc.refused) || strings.Contains(out, "secret for bob") {
				t.Fatalf("eve with bob's client id: want %s and no message, got:\n%s", tc.refused, out)
			}
			n.waitLog(5*time.Second, `"limit":"session.owner_mismatch"`, `"owner":"bob"`)
			if v := limitRefusals(t, n, "session.owner_mismatch"); v != 1 {
				t.Fatalf("imqtt_limit_refusals_total{limit=session.owner_mismatch} = %v, want 1", v)
			}

			// bob comes back: his session and its queue are intact.
			bobWait, _ = startMosquittoSubProc(t, bobArgs...)
			bobWait("secret for bob")

			// An online session (bob's laptop): eve is refused, and bob is
			// not kicked (he still receives).
			laptopWait, _ := startMosquittoSubProc(t, mosqArgs(n, tc.version, "bob", "bob-laptop", "im/u/bob/#")...)
			laptopWait("SUBACK")
			out = attempt(t, mosqArgs(n, tc.version, "eve", "bob-laptop", "eve/#"))
			if !strings.Contains(out, tc.refused) {
				t.Fatalf("eve with online bob's client id: want %s, got:\n%s", tc.refused, out)
			}
			alice.send(t, "im/send/user/bob", "c2", "second for bob")
			laptopWait("second for bob")
		})
	}
}

// TestSessionOwnerCleanStart: with session.owner_mismatch: clean_start,
// eve's CONNECT discards bob's offline session (she gets none of it: no
// subscription, no queued message) and the id is hers until bob, back,
// discards hers the same way; a session held by a live connection is still
// refused.
func TestSessionOwnerCleanStart(t *testing.T) {
	n := imNode(t, "session:\n  owner_mismatch: clean_start\n")
	bobArgs := mosqArgs(n, "mqttv5", "bob", "bob-tablet", "im/u/bob/#")
	bobWait, bobStop := startMosquittoSubProc(t, bobArgs...)
	bobWait("SUBACK")

	// Online bob: refused even in clean_start.
	if out := attempt(t, mosqArgs(n, "mqttv5", "eve", "bob-tablet", "eve/#")); !strings.Contains(out, "CONNACK (135)") {
		t.Fatalf("eve with online bob's id: want CONNACK (135), got:\n%s", out)
	}
	bobStop()
	waitOffline(t, n, "bob-tablet")
	alice := imConnect(t, n, "alice", "alice-phone")
	alice.send(t, "im/send/user/bob", "c1", "secret for bob")

	eveWait, eveStop := startMosquittoSubProc(t, mosqArgs(n, "mqttv5", "eve", "bob-tablet", "eve/#")...)
	out := eveWait("SUBACK")
	if !strings.Contains(out, "CONNACK (0)") {
		t.Fatalf("eve: want CONNACK (0), got:\n%s", out)
	}
	// bob's subscription went with his session: a new message for bob does
	// not reach eve, nor does the queued one.
	alice.send(t, "im/send/user/bob", "c2", "another for bob")
	mosquittoPub(t, n, "eve", "eve/x", "mark")
	out = eveWait("eve/x mark")
	if strings.Contains(out, "for bob") {
		t.Fatalf("eve received bob's messages:\n%s", out)
	}
	eveStop()
	waitOffline(t, n, "bob-tablet")
	// The trade-off: bob, back, discards eve's offline session in turn and
	// starts clean; his queued message went with his discarded session.
	out = attempt(t, bobArgs)
	if !strings.Contains(out, "CONNACK (0)") || strings.Contains(out, "for bob") {
		t.Fatalf("bob after eve took the id: want CONNACK (0) and no old message, got:\n%s", out)
	}
}

// mosquittoPub publishes one QoS 1 message as user.
func mosquittoPub(t *testing.T, n *node, user, topic, msg string) {
	t.Helper()
	host, port := hostPortOf(n.addr("tcp"))
	if out, err := runCmd(t, 10*time.Second, nil, "mosquitto_pub", "-h", host, "-p", port, "-V", "mqttv5",
		"-u", user, "-P", user+"-pw", "-q", "1", "-t", topic, "-m", msg); err != nil {
		t.Fatalf("mosquitto_pub: %v\n%s", err, out)
	}
}

// waitOffline waits until the admin API lists the client id as disconnected
// (or not at all).
func waitOffline(t *testing.T, n *node, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if !clientOnline(t, n, id) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still connected after 10s", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clientOnline reports whether the admin API's client list (connected
// clients only) shows id.
func clientOnline(t *testing.T, n *node, id string) bool {
	t.Helper()
	body := adminGet(t, n, "/api/v1/clients")
	return strings.Contains(body, `"`+id+`"`)
}

// adminGet GETs path on n's admin listener with n's admin token.
func adminGet(t *testing.T, n *node, path string) string {
	t.Helper()
	code, body := n.adminAPI(t, http.MethodGet, path, "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return string(body)
}

func limitRefusals(t *testing.T, n *node, limit string) float64 {
	t.Helper()
	return metricSum(t, n, "imqtt_limit_refusals_total", fmt.Sprintf("limit=%q", limit))
}

// connectPersistent connects an MQTT 5 client with a session expiry of 1 h
// and returns its CONNACK (reason code) and client.
func connectPersistent(t *testing.T, n *node, id, user string, clean bool) (*paho.Connack, *paho.Client) {
	t.Helper()
	conn, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: id, PingHandler: quietPinger{}})
	expiry := uint32(3600)
	ca, err := c.Connect(ctx10s(t), &paho.Connect{
		ClientID: id, KeepAlive: 30, CleanStart: clean,
		Username: user, UsernameFlag: true, Password: []byte(user + "-pw"), PasswordFlag: true,
		Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry},
	})
	if ca == nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	if err == nil {
		t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	}
	return ca, c
}

// TestSessionOwnerCluster: bob's session lives in the replicated state, so
// the node eve connects to refuses her too: bob's session made on node 1,
// eve on node 2 is refused and receives nothing; bob resumes on node 2 and
// gets his message; a session online on node 2 is refused to eve on node 1.
func TestSessionOwnerCluster(t *testing.T) {
	dir := t.TempDir()
	passwd, aclFile := writeIMUsers(t, dir)
	cfg := writeFile(t, dir, "imqttd.yaml", fmt.Sprintf("auth:\n  password_file: %s\nacl:\n  file: %s\n", passwd, aclFile))
	nodes := startClusterArgs(t, 2, "--config", cfg)
	n1, n2 := nodes[0], nodes[1]

	bobWait, bobStop := startMosquittoSubProc(t, mosqArgs(n1, "mqttv5", "bob", "bob-tablet", "news/bob")...)
	bobWait("SUBACK")
	bobStop()
	waitSynced(t, n1, n2)
	mosquittoPub(t, n1, "alice", "news/bob", "secret for bob")

	out := attempt(t, mosqArgs(n2, "mqttv5", "eve", "bob-tablet", "eve/#"))
	if !strings.Contains(out, "CONNACK (135)") || strings.Contains(out, "secret for bob") {
		t.Fatalf("eve with bob's client id on node 2: want CONNACK (135) and no message, got:\n%s", out)
	}
	bobWait, _ = startMosquittoSubProc(t, mosqArgs(n2, "mqttv5", "bob", "bob-tablet", "news/bob")...)
	bobWait("secret for bob")

	laptopWait, _ := startMosquittoSubProc(t, mosqArgs(n2, "mqttv5", "bob", "bob-laptop", "news/bob")...)
	laptopWait("SUBACK")
	waitSynced(t, n1, n2)
	if out := attempt(t, mosqArgs(n1, "mqttv5", "eve", "bob-laptop", "eve/#")); !strings.Contains(out, "CONNACK (135)") {
		t.Fatalf("eve with online bob's client id on node 1: want CONNACK (135), got:\n%s", out)
	}
	mosquittoPub(t, n1, "alice", "news/bob", "second for bob")
	laptopWait("second for bob")
}
