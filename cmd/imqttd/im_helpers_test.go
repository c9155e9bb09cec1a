package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/imqtt/imqtt/internal/testkit"
)

// imUsers are the password users of the IM tests (user name = password + "-pw").
var imUsers = []string{"alice", "bob", "carol", "dave", "erin", "eve", "flood", "root"}

// imNode starts imqttd with password users, the IM server and extra YAML
// appended under im: (indented by the caller).
func imNode(t *testing.T, imExtra string) *node {
	t.Helper()
	return imNodeAuth(t, "", imExtra)
}

// imNodeAuth is imNode with extra YAML under auth: as well.
func imNodeAuth(t *testing.T, authExtra, imExtra string) *node {
	t.Helper()
	return imNodeBinAuth(t, imqttdBin, authExtra, imExtra)
}

// imNodeBin is imNode running the imqttd binary bin.
func imNodeBin(t *testing.T, bin, imExtra string) *node {
	t.Helper()
	return imNodeBinAuth(t, bin, "", imExtra)
}

// imNodeBinAuth is imNodeAuth running the imqttd binary bin.
func imNodeBinAuth(t *testing.T, bin, authExtra, imExtra string) *node {
	t.Helper()
	return usersNode(t, bin, "im1", imUsers, authExtra, "im:\n  admins: [root]\n"+imExtra)
}

// imNodeOn is imNodeAuth on the given engine.
func imNodeOn(t *testing.T, engine, authExtra, imExtra string) *node {
	t.Helper()
	return usersNode(t, imqttdBin, "im1", imUsers, authExtra, engineYAML(engine)+"im:\n  admins: [root]\n"+imExtra)
}

// usersNode starts the imqttd binary bin as node id with the password-file
// users (see writeUsers), an ACL allowing every topic, loopback listeners on
// free ports (tcp only), the admin API, authExtra (indented by the caller)
// under auth: and extra YAML appended at the top level. Every test node with
// password users is started here.
func usersNode(t *testing.T, bin, id string, users []string, authExtra, extra string) *node {
	t.Helper()
	dir := t.TempDir()
	passwd, aclFile := writeUsers(t, dir, users)
	cfg := writeFile(t, dir, "imqttd.yaml", fmt.Sprintf(`
node:
  id: %[1]s
  data_dir: %[2]s/data
listeners:
  tcp: {enabled: true, address: "127.0.0.1:0"}
  ws: {enabled: false}
auth:
  password_file: %[3]s
%[5]s
acl:
  file: %[4]s
admin: {enabled: true, address: "127.0.0.1:0"}
cluster:
  bind_addr: "127.0.0.1:0"
%[6]s
`, id, dir, passwd, aclFile, authExtra, extra))
	return startNodeBin(t, bin, dir, nil, "--config", cfg)
}

// writeUsers writes the password file of users (password = user + "-pw")
// and an ACL file letting every user use every topic (the im/ tree has its own
// rules) into dir, and returns their paths (testkit.WriteUsers: hashes at
// bcrypt's minimum cost keep the tests fast; imqttd user add, tested
// elsewhere, uses the configured cost; the file format is the same).
func writeUsers(t *testing.T, dir string, users []string) (passwd, aclFile string) {
	t.Helper()
	return testkit.WriteUsers(t, dir, users)
}

// writeIMUsers is writeUsers of imUsers.
func writeIMUsers(t *testing.T, dir string) (passwd, aclFile string) {
	t.Helper()
	return writeUsers(t, dir, imUsers)
}

// imClient is an MQTT 5 device of a user, subscribed to its own im/u/{user}/#.
type imClient struct {
	*v5client
	user    string
	backlog []*paho.Publish
}

// imConnect connects user's device id and subscribes to im/u/{user}/#.
func imConnect(t *testing.T, n *node, user, id string) *imClient {
	t.Helper()
	ic := &imClient{v5client: dialUser(t, n, id, user), user: user}
	ic.subscribe(t, "im/u/"+user+"/#", 0)
	return ic
}

// dialUser connects user's MQTT 5 clean session id (session expiry 0).
func dialUser(t *testing.T, n *node, id, user string) *v5client {
	t.Helper()
	conn, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connectV5(t, conn, id, user, user+"-pw", true)
	if err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	return c
}

// subscribe subscribes to filter and fails unless the SUBACK has want.
func (c *imClient) subscribe(t *testing.T, filter string, want byte) {
	t.Helper()
	sa, err := c.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}})
	if err != nil && sa == nil {
		t.Fatalf("%s subscribe %s: %v", c.user, filter, err)
	}
	if got := sa.Reasons[0]; (want == 0 && got > 2) || (want != 0 && got != want) {
		t.Fatalf("%s subscribe %s: reason %#x, want %#x", c.user, filter, got, want)
	}
}

// publish sends a QoS 1 publish and returns the PUBACK reason code.
func (c *imClient) publish(t *testing.T, topic string, payload any, props *paho.PublishProperties) byte {
	t.Helper()
	data, ok := payload.([]byte)
	if !ok {
		var err error
		if data, err = json.Marshal(payload); err != nil {
			t.Fatal(err)
		}
	}
	pr, err := c.Publish(ctx10s(t), &paho.Publish{Topic: topic, QoS: 1, Payload: data, Properties: props})
	if pr == nil {
		t.Fatalf("%s publish %s: %v", c.user, topic, err)
	}
	return pr.ReasonCode
}

// send publishes a text message and returns the ack.
func (c *imClient) send(t *testing.T, topic, cid, body string) map[string]any {
	t.Helper()
	if code := c.publish(t, topic, map[string]any{"cid": cid, "body": body}, nil); code != 0 {
		t.Fatalf("%s send %s: PUBACK %#x", c.user, topic, code)
	}
	return c.await(t, "ack", func(m map[string]any) bool { return m["cid"] == cid })
}

// rpc calls method with MQTT 5 request/response and returns the response.
func (c *imClient) rpc(t *testing.T, method string, req map[string]any) map[string]any {
	t.Helper()
	corr := fmt.Sprintf("%s-%d", method, time.Now().UnixNano())
	rt := "im/u/" + c.user + "/rpc/" + corr
	c.publish(t, "im/rpc/"+method, req, &paho.PublishProperties{ResponseTopic: rt, CorrelationData: []byte(corr)})
	return c.awaitTopic(t, rt, nil)
}

// await waits for a JSON message on im/u/{user}/{leaf} that match accepts.
func (c *imClient) await(t *testing.T, leaf string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	return c.awaitTopic(t, "im/u/"+c.user+"/"+leaf, match)
}

// awaitTopic waits for a JSON message on topic that match (nil: any)
// accepts; other messages are kept for later calls.
func (c *imClient) awaitTopic(t *testing.T, topic string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	take := func(p *paho.Publish) map[string]any {
		if p.Topic != topic {
			return nil
		}
		var m map[string]any
		if err := json.Unmarshal(p.Payload, &m); err != nil {
			t.Fatalf("%s: %s: bad JSON %q: %v", c.user, p.Topic, p.Payload, err)
		}
		if match != nil && !match(m) {
			return nil
		}
		return m
	}
	for i, p := range c.backlog {
		if m := take(p); m != nil {
			c.backlog = append(c.backlog[:i], c.backlog[i+1:]...)
			return m
		}
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case p := <-c.msgs:
			if m := take(p); m != nil {
				return m
			}
			c.backlog = append(c.backlog, p)
		case <-deadline:
			var seen []string
			for _, p := range c.backlog {
				seen = append(seen, p.Topic+" "+string(p.Payload))
			}
			t.Fatalf("%s: nothing on %s within 10s; unmatched:\n%s", c.user, topic, strings.Join(seen, "\n"))
			return nil
		}
	}
}

// quiet fails if a message on im/u/{user}/{leaf} arrives within d.
func (c *imClient) quiet(t *testing.T, leaf string, d time.Duration) {
	t.Helper()
	topic := "im/u/" + c.user + "/" + leaf
	for _, p := range c.backlog {
		if p.Topic == topic {
			t.Fatalf("%s: unexpected %s %s", c.user, p.Topic, p.Payload)
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case p := <-c.msgs:
			if p.Topic == topic {
				t.Fatalf("%s: unexpected %s %s", c.user, p.Topic, p.Payload)
			}
			c.backlog = append(c.backlog, p)
		case <-timer.C:
			return
		}
	}
}

// num reads a JSON number field.
func num(t *testing.T, m map[string]any, k string) uint64 {
	t.Helper()
	f, ok := m[k].(float64)
	if !ok {
		t.Fatalf("field %s missing or not a number in %v", k, m)
	}
	return uint64(f)
}

// closeIM disconnects the device.
func (c *imClient) close() {
	_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0})
}

// startMosquittoSub runs mosquitto_sub -d with args (line-buffered) and returns
// a function that waits for a line containing what and returns the output so far.
func startMosquittoSub(t *testing.T, args ...string) func(what string) string {
	t.Helper()
	wait, _ := startMosquittoSubProc(t, args...)
	return wait
}

// startMosquittoSubProc is startMosquittoSub that also returns a function
// killing the mosquitto_sub process (idempotent; the cleanup calls it too).
func startMosquittoSubProc(t *testing.T, args ...string) (wait func(what string) string, stop func()) {
	t.Helper()
	sub := exec.Command("stdbuf", append([]string{"-oL", "mosquitto_sub", "-d"}, args...)...)
	out, err := sub.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	sub.Stderr = sub.Stdout
	if err := sub.Start(); err != nil {
		t.Fatalf("mosquitto_sub: %v", err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { _ = sub.Process.Kill(); _ = sub.Wait() }) }
	t.Cleanup(stop)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var seen []string
	wait = func(what string) string {
		t.Helper()
		deadline := time.After(15 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("mosquitto_sub ended before %q:\n%s", what, strings.Join(seen, "\n"))
				}
				seen = append(seen, l)
				if strings.Contains(l, what) {
					return strings.Join(seen, "\n")
				}
			case <-deadline:
				t.Fatalf("mosquitto_sub: no %q:\n%s", what, strings.Join(seen, "\n"))
			}
		}
	}
	return wait, stop
}
