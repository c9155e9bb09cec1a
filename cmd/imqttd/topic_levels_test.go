package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// cpuTime returns the user + system CPU time the process pid has used
// (/proc/<pid>/stat fields 14 and 15, in clock ticks of 1/100 s: USER_HZ is
// 100 on Linux).
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		t.Fatalf("parse /proc/%d/stat: %v %v", pid, err1, err2)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// levels returns a filter of dave's inbox with n levels in all.
func deepFilter(n int) string { return "im/u/dave" + strings.Repeat("/", n-3) }

// TestTopicLevelsRefusedCheaply is the acceptance test of issue 16 finding 4
// against a real imqttd: a 1,000-level and a 40,000-level filter are refused
// (v5 SUBACK 0x8F, UNSUBACK 0x8F; a deep PUBLISH gets PUBACK 0x90, a deep will
// topic CONNACK 0x87; 3.1.1 SUBACK 0x80) for little broker CPU, and a normal subscription on the same
// connection still works. Before limits.max_topic_levels the 40,000-level
// filter was granted after seconds of CPU (and as many again at disconnect).
func TestTopicLevelsRefusedCheaply(t *testing.T) {
	n := imNode(t, "")
	pid := n.cmd.Process.Pid
	conn, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connectV5(t, conn, "dave-deep", "dave", "dave-pw", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, levels := range []int{1000, 40000} {
		before := cpuTime(t, pid)
		start := time.Now()
		sa, err := c.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: deepFilter(levels), QoS: 1}}})
		if sa == nil {
			t.Fatalf("%d levels: no SUBACK: %v", levels, err)
		}
		took, cpu := time.Since(start), cpuTime(t, pid)-before
		if len(sa.Reasons) != 1 || sa.Reasons[0] != 0x8F {
			t.Fatalf("%d levels: SUBACK %x, want 8f", levels, sa.Reasons)
		}
		t.Logf("%d-level filter refused in %s; broker CPU %s (10 ms resolution)", levels, took, cpu)
		if cpu > time.Second {
			t.Fatalf("%d levels: the refusal cost %s of broker CPU", levels, cpu)
		}
	}
	ua, err := c.Unsubscribe(ctx10s(t), &paho.Unsubscribe{Topics: []string{deepFilter(40000)}})
	if ua == nil || len(ua.Reasons) != 1 || ua.Reasons[0] != 0x8F {
		t.Fatalf("UNSUBACK %v: %v, want [8f]", ua, err)
	}
	pr, err := c.Publish(ctx10s(t), &paho.Publish{Topic: "t/" + strings.Repeat("x/", 300), QoS: 1, Payload: []byte("deep")})
	if pr == nil || pr.ReasonCode != 0x90 {
		t.Fatalf("deep publish: %+v %v, want PUBACK 0x90", pr, err)
	}
	// The same connection still subscribes and receives normally.
	sa, err := c.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "t/dave/#", QoS: 1}}})
	if err != nil || sa.Reasons[0] != 1 {
		t.Fatalf("normal subscribe: %v %+v", err, sa)
	}
	if pr, err := c.Publish(ctx10s(t), &paho.Publish{Topic: "t/dave/a", QoS: 1, Payload: []byte("hi")}); err != nil || pr.ReasonCode != 0 {
		t.Fatalf("normal publish: %v %+v", err, pr)
	}
	c.expect(t, "t/dave/a", "hi", 1)
	if got := metricSum(t, n, "imqtt_limit_refusals_total", `limit="max_topic_levels"`); got != 4 {
		t.Fatalf("imqtt_limit_refusals_total{limit=max_topic_levels} = %v, want 4", got)
	}
	n.waitLog(10*time.Second, `"message":"topic too deep, refused"`, `"client_id":"dave-deep"`)

	// A will topic too deep is refused like a forbidden will, before any
	// session work: CONNACK 0x87.
	wconn, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	wc := paho.NewClient(paho.ClientConfig{Conn: wconn})
	ca, _ := wc.Connect(ctx10s(t), &paho.Connect{ClientID: "dave-will", KeepAlive: 30, CleanStart: true,
		UsernameFlag: true, Username: "dave", PasswordFlag: true, Password: []byte("dave-pw"),
		WillMessage: &paho.WillMessage{Topic: "t/dave" + strings.Repeat("/", 40000), Payload: []byte("gone")}})
	if ca == nil || ca.ReasonCode != 0x87 {
		t.Fatalf("deep will topic: CONNACK %+v, want 0x87", ca)
	}
	if got := metricSum(t, n, "imqtt_limit_refusals_total", `limit="max_topic_levels"`); got != 5 {
		t.Fatalf("imqtt_limit_refusals_total{limit=max_topic_levels} = %v after the will, want 5", got)
	}

	// MQTT 3.1.1: SUBACK 0x80 for the deep filter, the other one granted.
	o := pahov3.NewClientOptions().AddBroker("tcp://" + n.addr("tcp")).SetClientID("dave-v3").
		SetUsername("dave").SetPassword("dave-pw").SetProtocolVersion(4).SetAutoReconnect(false)
	c3 := pahov3.NewClient(o)
	if tok := c3.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("v3 connect: %v", tok.Error())
	}
	defer c3.Disconnect(0)
	before := cpuTime(t, pid)
	tok := c3.SubscribeMultiple(map[string]byte{deepFilter(40000): 1, "t/dave/v3": 1}, nil)
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("v3: no SUBACK")
	}
	res := tok.(*pahov3.SubscribeToken).Result()
	if res[deepFilter(40000)] != 0x80 || res["t/dave/v3"] != 1 {
		t.Fatalf("v3 SUBACK %v", res)
	}
	t.Logf("3.1.1 40000-level filter refused; broker CPU %s", cpuTime(t, pid)-before)
}
