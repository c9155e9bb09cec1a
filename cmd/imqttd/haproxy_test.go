package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestHAProxySendProxyV2 runs a real HAProxy with send-proxy-v2 in front of
// imqttd (tcp listener with proxy_protocol, trusting 127.0.0.1, and
// per_ip_connections 1): a mosquitto_sub and a mosquitto_pub through it
// exchange a message; the broker's session list, its log and the per-IP limit
// all use each client's own address and source port, not HAProxy's socket.
// Without the header every client would be HAProxy's 127.0.0.1 and the second
// one refused by the per-IP limit.
func TestHAProxySendProxyV2(t *testing.T) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatalf("haproxy not installed (.ci/run installs the Debian package): %v", err)
	}
	dir := t.TempDir()
	passwd, aclFile := writeUsers(t, dir, []string{"alice", "bob"})
	cfg := writeFile(t, dir, "imqttd.yaml", fmt.Sprintf(`
node:
  id: hap1
  data_dir: %[1]s/data
listeners:
  tcp:
    enabled: true
    address: "127.0.0.1:0"
    proxy_protocol: true
    proxy_trusted: [127.0.0.1]
  ws: {enabled: false}
auth:
  password_file: %[2]s
acl:
  file: %[3]s
limits:
  per_ip_connections: 1
admin: {enabled: true, address: "127.0.0.1:0"}
cluster:
  bind_addr: "127.0.0.1:0"
`, dir, passwd, aclFile))
	n := startNode(t, dir, "--config", cfg)

	front := freePort(t)
	hcfg := writeFile(t, dir, "haproxy.cfg", fmt.Sprintf(`
global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 1m
    timeout server 1m
frontend mqtt
    bind %s
    default_backend imqtt
backend imqtt
    server n1 %s send-proxy-v2
`, front, n.addr("tcp")))
	if out, err := runCmd(t, 10*time.Second, nil, haproxy, "-c", "-f", hcfg); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	hp := exec.Command(haproxy, "-db", "-f", hcfg)
	var hlog strings.Builder
	hp.Stdout, hp.Stderr = &hlog, &hlog
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	hpDone := make(chan struct{})
	go func() { _ = hp.Wait(); close(hpDone) }()
	t.Cleanup(func() {
		_ = hp.Process.Kill()
		<-hpDone
		if t.Failed() {
			t.Logf("haproxy output:\n%s", hlog.String())
		}
	})
	// Ready when the frontend accepts (probing from an address no client uses).
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.9")}, Timeout: time.Second}
		c, err := d.Dial("tcp", front)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy does not accept on %s: %v", front, err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
	host, port := hostPort(t, front)

	// A Go client from 127.0.0.1: the broker must see its exact source port.
	dial := func(src string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", front)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	gc := dial("127.0.0.1")
	if _, err := connectV5(t, gc, "go-client", "alice", "alice-pw", true); err != nil {
		t.Fatalf("connect through haproxy: %v", err)
	}
	want := gc.LocalAddr().String()
	if got := clientRemote(t, n, "go-client"); got != want {
		t.Fatalf("admin API remote of go-client = %s, want the client's %s", got, want)
	}
	line := n.waitLog(10*time.Second, `"message":"proxy header"`, `"remote":"`+want+`"`)
	var ev map[string]any
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatal(err)
	}
	if p, _ := ev["proxy"].(string); p == "" || p == want || !strings.HasPrefix(p, "127.0.0.1:") {
		t.Fatalf("log line %s: proxy %q should be haproxy's socket, not the client's", line, p)
	}

	// mosquitto_sub and mosquitto_pub from other loopback addresses, through
	// haproxy, exchange a message.
	wait := startMosquittoSub(t, "-V", "mqttv5", "-h", host, "-p", port, "-A", "127.0.0.2",
		"-i", "msub", "-u", "bob", "-P", "bob-pw", "-t", "hap/t", "-q", "1")
	wait("SUBACK")
	if got := clientRemote(t, n, "msub"); !strings.HasPrefix(got, "127.0.0.2:") {
		t.Fatalf("admin API remote of mosquitto_sub = %s, want 127.0.0.2:<its port>", got)
	}
	if o, err := runCmd(t, 10*time.Second, nil, "mosquitto_pub", "-V", "mqttv5", "-h", host, "-p", port,
		"-A", "127.0.0.3", "-i", "mpub", "-u", "bob", "-P", "bob-pw", "-t", "hap/t", "-q", "1", "-m", "through-haproxy"); err != nil {
		t.Fatalf("mosquitto_pub: %v\n%s", err, o)
	}
	wait("through-haproxy")
	n.waitLog(10*time.Second, `"message":"proxy header"`, `"remote":"127.0.0.3:`)

	// A second client from 127.0.0.1 is over per_ip_connections 1 for that
	// address (the go-client holds it): refused with CONNACK 0x97, read
	// through haproxy.
	c2, _ := connectV5(t, dial("127.0.0.1"), "go-client-2", "alice", "alice-pw", true)
	if c2.connack == nil || c2.connack.ReasonCode != 0x97 {
		t.Fatalf("second socket of 127.0.0.1: CONNACK %+v, want 0x97 Quota exceeded", c2.connack)
	}
	if got := metricSum(t, n, "imqtt_connections_rejected_total", `reason="per_ip_connections"`); got != 1 {
		t.Fatalf("imqtt_connections_rejected_total{reason=per_ip_connections} = %v, want 1", got)
	}
	if got := metricSum(t, n, "imqtt_connections_rejected_total", `reason="proxy_header"`); got != 0 {
		t.Fatalf("imqtt_connections_rejected_total{reason=proxy_header} = %v, want 0", got)
	}
}

// clientRemote returns the admin API's remote address of connected client id.
func clientRemote(t *testing.T, n *node, id string) string {
	t.Helper()
	status, body := n.adminAPI(t, "GET", "/api/v1/clients/"+id, "")
	if status != 200 {
		t.Fatalf("GET /api/v1/clients/%s: %d %s", id, status, body)
	}
	var c struct {
		Remote string `json:"remote"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	return c.Remote
}
