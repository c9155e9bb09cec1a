package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// loopbackFlags moves every listener of the embedded default to a free port.
var loopbackFlags = []string{"--tcp", "127.0.0.1:0", "--ws", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--raft-addr", "127.0.0.1:0"}

// TestEmbeddedDefault is `make run`: no config file, data under ./data, loopback
// listeners, anonymous clients exchanging QoS 0/1/2 with the mosquitto clients
// (3.1.1 and 5), paho.golang (5) and paho.mqtt.golang (3.1.1) over TCP and WebSocket.
func TestEmbeddedDefault(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, loopbackFlags...)
	if st, err := os.Stat(filepath.Join(dir, "data")); err != nil || !st.IsDir() {
		t.Fatalf("./data not created: %v", err)
	}
	n.waitLog(5*time.Second, "loopback", "anonymous")
	tcp := n.addr("tcp")

	for _, kind := range []string{"tcp", "ws"} {
		for qos := byte(0); qos <= 2; qos++ {
			t.Run(fmt.Sprintf("paho5-%s-qos%d", kind, qos), func(t *testing.T) {
				subConn, err := dialMQTT(t, kind, n.addr(kind), nil)
				if err != nil {
					t.Fatal(err)
				}
				sub, err := connectV5(t, subConn, "sub-"+t.Name(), "", "", true)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := sub.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "e2e/" + kind, QoS: qos}}}); err != nil {
					t.Fatal(err)
				}
				pubConn, err := dialMQTT(t, kind, n.addr(kind), nil)
				if err != nil {
					t.Fatal(err)
				}
				pub, err := connectV5(t, pubConn, "pub-"+t.Name(), "", "", true)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := pub.Publish(ctx10s(t), &paho.Publish{Topic: "e2e/" + kind, QoS: qos, Payload: []byte("hello")})
				if err != nil {
					t.Fatal(err)
				}
				if qos > 0 && resp.ReasonCode >= 0x80 {
					t.Fatalf("publish reason %#x", resp.ReasonCode)
				}
				sub.expect(t, "e2e/"+kind, "hello", qos)
			})
			t.Run(fmt.Sprintf("paho311-%s-qos%d", kind, qos), func(t *testing.T) {
				url := "tcp://" + n.addr(kind)
				if kind == "ws" {
					url = "ws://" + n.addr(kind) + "/mqtt"
				}
				got := make(chan pahov3.Message, 10)
				sub := pahov3.NewClient(pahov3.NewClientOptions().AddBroker(url).SetClientID("s311-" + kind).SetProtocolVersion(4))
				if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
					t.Fatalf("connect: %v", tok.Error())
				}
				defer sub.Disconnect(100)
				if tok := sub.Subscribe("v3/"+kind, qos, func(_ pahov3.Client, m pahov3.Message) { got <- m }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
					t.Fatalf("subscribe: %v", tok.Error())
				}
				pub := pahov3.NewClient(pahov3.NewClientOptions().AddBroker(url).SetClientID("p311-" + kind).SetProtocolVersion(4))
				if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
					t.Fatalf("connect: %v", tok.Error())
				}
				defer pub.Disconnect(100)
				if tok := pub.Publish("v3/"+kind, qos, false, "hi311"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
					t.Fatalf("publish: %v", tok.Error())
				}
				select {
				case m := <-got:
					if string(m.Payload()) != "hi311" || m.Qos() != qos {
						t.Fatalf("got %q qos %d", m.Payload(), m.Qos())
					}
				case <-time.After(10 * time.Second):
					t.Fatal("no message")
				}
			})
		}
	}

	for _, v := range []string{"mqttv311", "mqttv5"} {
		for qos := 0; qos <= 2; qos++ {
			t.Run(fmt.Sprintf("mosquitto-%s-qos%d", v, qos), func(t *testing.T) {
				topic := fmt.Sprintf("mosq/%s/%d", v, qos)
				mosquittoRoundTrip(t, tcp, v, qos, topic, nil, nil)
			})
		}
	}
}

// mosquittoRoundTrip has mosquitto_sub wait for one message that mosquitto_pub
// sends; extra args (TLS, credentials) go to both.
func mosquittoRoundTrip(t *testing.T, addr, version string, qos int, topic string, subExtra, pubExtra []string) {
	t.Helper()
	host, port := hostPort(t, addr)
	common := []string{"-h", host, "-p", port, "-V", version, "-q", fmt.Sprint(qos), "-t", topic}
	subArgs := append(append([]string{"-C", "1", "-W", "15", "-i", "msub-" + topic}, common...), subExtra...)
	// mosquitto_sub -d, line-buffered, so SUBACK is seen at once.
	waitFor := startMosquittoSub(t, subArgs...)
	waitFor("SUBACK")
	pubArgs := append(append([]string{"-i", "mpub-" + topic, "-m", "payload-" + topic}, common...), pubExtra...)
	if o, err := runCmd(t, 15*time.Second, nil, "mosquitto_pub", pubArgs...); err != nil {
		t.Fatalf("mosquitto_pub: %v\n%s", err, o)
	}
	waitFor("payload-" + topic)
}

// TestGracefulShutdown: SIGTERM sends DISCONNECT 0x8B to MQTT 5 clients and exits 0.
func TestGracefulShutdown(t *testing.T) {
	n := startNode(t, "", loopbackFlags...)
	conn, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connectV5(t, conn, "shutdown-watcher", "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.signal(syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, n.log())
	}
	select {
	case d := <-c.discon:
		if d.ReasonCode != 0x8B {
			t.Fatalf("DISCONNECT reason %#x, want 0x8B", d.ReasonCode)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no DISCONNECT before the close")
	}
	n.waitLog(time.Second, "imqttd stopped")
}

// TestSecondNodeSameDataDir: a second process on the same data directory fails
// with a clear error.
func TestSecondNodeSameDataDir(t *testing.T) {
	dir := t.TempDir()
	startNode(t, dir, loopbackFlags...)
	cmd := exec.Command(imqttdBin, append([]string{"serve", "--log-format", "json"}, loopbackFlags...)...)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("second node on the same data dir started:\n%s", b)
	}
	if !strings.Contains(string(b), "lock") {
		t.Fatalf("error does not mention the lock:\n%s", b)
	}
}
