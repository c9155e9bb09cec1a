package main

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// throttleNode starts imqttd with the IM test users (password = user + "-pw")
// and auth.throttle set by throttleYAML (indented under auth.throttle).
func throttleNode(t *testing.T, throttleYAML string) *node {
	t.Helper()
	return imNodeAuth(t, "  throttle:\n"+throttleYAML, "")
}

// connectFrom dials the node's tcp listener from the source IP from and sends
// an MQTT 5 CONNECT; it returns the CONNACK reason code and how long the
// CONNECT took to be answered.
func connectFrom(t *testing.T, n *node, from, id, user, pass string) (byte, time.Duration) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp", n.addr("tcp"))
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	start := time.Now()
	c, err := connectV5(t, conn, id, user, pass, true)
	took := time.Since(start)
	if c.connack == nil {
		t.Fatalf("connect %s from %s: no CONNACK: %v", id, from, err)
	}
	if err == nil {
		_ = c.Disconnect(&paho.Disconnect{})
	}
	return c.connack.ReasonCode, took
}

// TestLoginThrottle is the acceptance test of issue 16 finding 6 against a real
// imqttd: 50 wrong passwords for alice from 127.0.0.2 are throttled as
// configured (after 5 free ones each waits 250ms doubling to 2s; a burst in
// parallel is refused without a check), while alice's right password from
// 127.0.0.1 connects at once. Before login throttling all 50 were answered at
// bcrypt speed.
func TestLoginThrottle(t *testing.T) {
	n := throttleNode(t, `    free_attempts: 5
    base_delay: 250ms
    max_delay: 2s`)
	const attacker, user = "127.0.0.2", "127.0.0.1"

	// 10 in a row: 5 free, then 250ms, 500ms, 1s, 2s, 2s after each failure.
	start := time.Now()
	var last time.Duration
	for i := range 10 {
		code, took := connectFrom(t, n, attacker, fmt.Sprintf("guess-%d", i), "alice", "wrong")
		if code != 0x86 {
			t.Fatalf("wrong password %d: CONNACK 0x%02x, want 0x86", i, code)
		}
		last = took
	}
	if total := time.Since(start); total < 4*time.Second || last < 1500*time.Millisecond {
		t.Fatalf("10 wrong passwords took %s (the last %s); want about 5.75s of delays (2s for the last)", total, last)
	}

	// 40 more at once: one waits its turn, the others are refused without a
	// password check, at once; meanwhile the right password from another
	// address connects at once.
	var wg sync.WaitGroup
	codes := make(chan byte, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := connectFrom(t, n, attacker, fmt.Sprintf("burst-%d", i), "alice", "wrong")
			codes <- code
		}()
	}
	code, took := connectFrom(t, n, user, "alice-phone", "alice", "alice-pw")
	if code != 0 || took > time.Second {
		t.Fatalf("right password from %s: CONNACK 0x%02x after %s; want 0 well under the 2s delay", user, code, took)
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 0x86 {
			t.Fatalf("burst: CONNACK 0x%02x, want 0x86", c)
		}
	}
	if got := metricSum(t, n, "imqtt_auth_failures_total", `reason="throttled"`); got < 39 {
		t.Fatalf("imqtt_auth_failures_total{reason=throttled} = %v, want >= 39", got)
	}
	if got := metricSum(t, n, "imqtt_limit_refusals_total", `limit="auth.throttle"`); got < 44 {
		t.Fatalf("imqtt_limit_refusals_total{limit=auth.throttle} = %v, want >= 44 (5 delayed + 39 refused)", got)
	}
	// The attacker's address stays throttled for alice even with her password.
	code, took = connectFrom(t, n, attacker, "alice-stolen", "alice", "alice-pw")
	if code != 0 || took < time.Second {
		t.Fatalf("right password from the throttled address: CONNACK 0x%02x after %s; want 0 after the 2s delay", code, took)
	}
	// The warning names the user and the address, never the password.
	n.waitLog(10*time.Second, `"message":"login throttled"`, `"user":"alice"`, attacker)
	if strings.Contains(n.log(), "alice-pw") {
		t.Fatal("a password reached the log")
	}
}

// TestLoginThrottleStoreUser: a user created through the admin API (the
// replicated user store, issue 19) is throttled like a password-file user:
// after the free attempts each wrong password from one address waits, while
// the right password from another address connects at once.
func TestLoginThrottleStoreUser(t *testing.T) {
	n := throttleNode(t, `    free_attempts: 2
    base_delay: 300ms
    max_delay: 1s`)
	if code, b := n.adminAPI(t, "POST", "/api/v1/users", `{"name":"zoe","password":"zoe-secret-1"}`); code != 201 {
		t.Fatalf("create zoe: %d %s", code, b)
	}
	const attacker, user = "127.0.0.2", "127.0.0.1"
	var took [4]time.Duration
	for i := range took {
		var code byte
		code, took[i] = connectFrom(t, n, attacker, fmt.Sprintf("zoe-guess-%d", i), "zoe", "wrong")
		if code != 0x86 {
			t.Fatalf("wrong password %d: CONNACK 0x%02x, want 0x86", i, code)
		}
	}
	if took[2] < 250*time.Millisecond || took[3] < 500*time.Millisecond {
		t.Fatalf("wrong passwords for a store user took %v; want the 3rd >= 300ms and the 4th >= 600ms", took)
	}
	if code, d := connectFrom(t, n, user, "zoe-phone", "zoe", "zoe-secret-1"); code != 0 || d > time.Second {
		t.Fatalf("right password from %s: CONNACK 0x%02x after %s", user, code, d)
	}
	n.waitLog(10*time.Second, `"message":"login throttled"`, `"user":"zoe"`, attacker)
}
