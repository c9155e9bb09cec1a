package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// writeFile writes a file under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// addUser runs `imqttd user add FILE USER` with the password on stdin.
func addUser(t *testing.T, file, user, pass string) {
	t.Helper()
	out, err := runCmd(t, 30*time.Second, strings.NewReader(pass+"\n"), imqttdBin, "user", "add", file, user)
	if err != nil {
		t.Fatalf("imqttd user add: %v\n%s", err, out)
	}
}

// securedConfig is a config with all four listeners on free ports, a password
// file, TLS (client certificates optional) and WSS (client certificates required).
func securedConfig(t *testing.T, dir string, pki *testPKI, passwd, aclFile string) string {
	t.Helper()
	return writeFile(t, dir, "imqttd.yaml", fmt.Sprintf(`
node:
  id: t1
  data_dir: %[1]s/data
listeners:
  tcp: {enabled: true, address: "127.0.0.1:0"}
  tls:
    enabled: true
    address: "127.0.0.1:0"
    tls: {cert_file: %[2]s, key_file: %[3]s, client_ca_file: %[4]s, client_auth: request}
  ws: {enabled: true, address: "127.0.0.1:0"}
  wss:
    enabled: true
    address: "127.0.0.1:0"
    tls: {cert_file: %[2]s, key_file: %[3]s, client_ca_file: %[4]s, client_auth: require}
auth:
  password_file: %[5]s
acl:
  file: %[6]s
admin:
  enabled: true
  address: "127.0.0.1:0"
cluster:
  bind_addr: "127.0.0.1:0"
`, dir, pki.certFile, pki.keyFile, pki.caFile, passwd, aclFile))
}

// TestTLSAndAuth: password users over TLS with the mosquitto clients (3.1.1 and
// 5, QoS 0/1/2), paho.golang over TLS and over WSS with a client certificate;
// WSS without a certificate and anonymous clients are refused.
func TestTLSAndAuth(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t)
	passwd := filepath.Join(dir, "users.passwd")
	addUser(t, passwd, "alice", "alice-pw")
	addUser(t, passwd, "bob", "bob-pw")
	acl := writeFile(t, dir, "acl.conf", "user alice\ntopic readwrite #\nuser bob\ntopic readwrite #\n")
	n := startNode(t, dir, "--config", securedConfig(t, dir, pki, passwd, acl))

	tlsArgs := []string{"--cafile", pki.caFile, "-u", "alice", "-P", "alice-pw"}
	for _, v := range []string{"mqttv311", "mqttv5"} {
		for qos := 0; qos <= 2; qos++ {
			t.Run(fmt.Sprintf("mosquitto-tls-%s-qos%d", v, qos), func(t *testing.T) {
				mosquittoRoundTrip(t, n.addr("tls"), v, qos, fmt.Sprintf("tls/%s/%d", v, qos), tlsArgs, tlsArgs)
			})
		}
	}
	t.Run("mosquitto-tls-client-cert", func(t *testing.T) {
		args := append([]string{"--cert", pki.clientCertFile, "--key", pki.clientKeyFile}, tlsArgs...)
		mosquittoRoundTrip(t, n.addr("tls"), "mqttv5", 1, "tls/cert", args, args)
	})

	for _, kind := range []string{"tls", "wss"} {
		for qos := byte(0); qos <= 2; qos++ {
			t.Run(fmt.Sprintf("paho5-%s-qos%d", kind, qos), func(t *testing.T) {
				sc, err := dialMQTT(t, kind, n.addr(kind), pki.clientTLS(true))
				if err != nil {
					t.Fatal(err)
				}
				sub, err := connectV5(t, sc, "s-"+t.Name(), "bob", "bob-pw", true)
				if err != nil {
					t.Fatal(err)
				}
				topic := fmt.Sprintf("sec/%s/%d", kind, qos)
				if _, err := sub.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: qos}}}); err != nil {
					t.Fatal(err)
				}
				pc, err := dialMQTT(t, kind, n.addr(kind), pki.clientTLS(true))
				if err != nil {
					t.Fatal(err)
				}
				pub, err := connectV5(t, pc, "p-"+t.Name(), "alice", "alice-pw", true)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := pub.Publish(ctx10s(t), &paho.Publish{Topic: topic, QoS: qos, Payload: []byte("secret")}); err != nil {
					t.Fatal(err)
				}
				sub.expect(t, topic, "secret", qos)
			})
		}
	}

	t.Run("wss-without-client-cert-refused", func(t *testing.T) {
		c, err := dialMQTT(t, "wss", n.addr("wss"), pki.clientTLS(false))
		if err == nil {
			// TLS 1.3 reports a missing client certificate after the handshake: the
			// first read or the MQTT CONNECT must fail.
			_, cerr := connectV5(t, c, "nocert", "alice", "alice-pw", true)
			if cerr == nil {
				t.Fatal("wss accepted a client without a certificate")
			}
		}
	})
	t.Run("anonymous-refused", func(t *testing.T) {
		c, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
		if err != nil {
			t.Fatal(err)
		}
		ca, err := connectV5(t, c, "anon", "", "", true)
		if err == nil {
			t.Fatal("anonymous client accepted with a config file that does not allow it")
		}
		if ca.connack == nil || ca.connack.ReasonCode < 0x80 {
			t.Fatalf("want a CONNACK failure code, got %+v (%v)", ca.connack, err)
		}
	})
	t.Run("wrong-password-refused", func(t *testing.T) {
		c, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
		if err != nil {
			t.Fatal(err)
		}
		ca, err := connectV5(t, c, "wrongpw", "alice", "nope", true)
		if err == nil || ca.connack == nil || ca.connack.ReasonCode != 0x86 {
			t.Fatalf("want CONNACK 0x86, got %+v (%v)", ca.connack, err)
		}
		if o, err := runCmd(t, 10*time.Second, nil, "mosquitto_pub", "-h", "127.0.0.1", "-p", strings.Split(n.addr("tcp"), ":")[1], "-u", "alice", "-P", "nope", "-t", "x", "-m", "y"); err == nil {
			t.Fatalf("mosquitto_pub with a wrong password succeeded: %s", o)
		}
	})
}
