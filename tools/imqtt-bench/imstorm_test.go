package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestStormPlan(t *testing.T) {
	for _, tc := range []struct{ n, p, k int }{{20, 2, 5}, {7, 3, 1}, {5, 10, 3}, {1000, 10, 20}} {
		plan := stormPlan(tc.n, tc.p, tc.k)
		if len(plan) != tc.p {
			t.Fatalf("%v: %d senders", tc, len(plan))
		}
		per := make([]int, tc.n)
		from := make([]map[int]bool, tc.n)
		total := 0
		for i, tg := range plan {
			total += len(tg)
			if want := tc.n * tc.k / tc.p; len(tg) < want || len(tg) > want+1 {
				t.Errorf("%v: sender %d sends %d, want about %d", tc, i, len(tg), want)
			}
			for _, j := range tg {
				per[j]++
				if from[j] == nil {
					from[j] = map[int]bool{}
				}
				from[j][i] = true
			}
		}
		if total != tc.n*tc.k {
			t.Errorf("%v: %d sends, want %d", tc, total, tc.n*tc.k)
		}
		for j := range per {
			if per[j] != tc.k || len(from[j]) != min(tc.p, tc.k) {
				t.Errorf("%v: receiver %d gets %d from %d senders", tc, j, per[j], len(from[j]))
			}
		}
	}
}

// env is a sync envelope of this run's message seq of sender pub.
func env(runID string, pub uint32, seq uint64) syncEnvelope {
	return syncEnvelope{Seq: seq + 1, Conv: "d:a:b",
		CID:  string(appendCID(nil, runID, pub, seq)),
		Body: string(appendIMBody(nil, 64, 1, pub, seq))}
}

func TestSyncBook(t *testing.T) {
	const run = "0badcafe"
	b := newSyncBook()
	p1 := syncResponse{OK: true, More: true, Since: map[string]uint64{"d:a:b": 2, "d:a:c": 0},
		Messages: []syncEnvelope{env(run, 0, 0), env(run, 0, 1)}}
	if !b.add(&p1, run) || b.unique != 2 || b.pages != 1 {
		t.Fatalf("page 1: %+v", b)
	}
	// a page that returns seq 1 again, a foreign message, a corrupt one, a new one
	bad := env(run, 1, 5)
	bad.Body = string(appendIMBody(nil, 64, 1, 1, 6)) // cid says 5
	p2 := syncResponse{OK: true, More: true, Since: map[string]uint64{"d:a:b": 3, "d:a:c": 1},
		Messages: []syncEnvelope{env(run, 0, 1), env("other123", 0, 9), {Seq: 1, Conv: "g:1"}, bad, env(run, 1, 0)}}
	if !b.add(&p2, run) {
		t.Fatal("page 2: no progress")
	}
	if b.unique != 3 || b.dups != 1 || b.foreign != 2 || b.corrupt != 1 {
		t.Errorf("page 2: unique %d dups %d foreign %d corrupt %d", b.unique, b.dups, b.foreign, b.corrupt)
	}
	if !b.has(0, 0) || !b.has(0, 1) || !b.has(1, 0) || b.has(1, 5) || b.has(2, 0) {
		t.Error("has")
	}
	// nothing new and the same cursors: no progress; a cursor moved back is
	// counted and not followed
	p3 := syncResponse{OK: true, More: true, Since: map[string]uint64{"d:a:b": 3, "d:a:c": 1}}
	if b.add(&p3, run) {
		t.Error("page 3: progress without messages or cursor moves")
	}
	p4 := syncResponse{OK: true, Since: map[string]uint64{"d:a:b": 1, "d:a:c": 1}}
	if b.add(&p4, run) || b.regressed != 1 || b.since["d:a:b"] != 3 {
		t.Errorf("page 4: regressed %d since %v", b.regressed, b.since)
	}
	if b.pages != 4 {
		t.Errorf("pages %d", b.pages)
	}
}

func TestStormMissing(t *testing.T) {
	const run = "0badcafe"
	targets := stormPlan(3, 2, 2) // sender 0: r0, r1, r2; sender 1: r0, r1, r2
	var acked [2]bitmap
	for seq := range uint64(3) {
		acked[0].set(seq)
		acked[1].set(seq)
	}
	acked[1].set(99) // not in the plan: ignored
	books := []*syncBook{newSyncBook(), newSyncBook(), nil}
	all := syncResponse{OK: true, Messages: []syncEnvelope{env(run, 0, 0), env(run, 1, 0)}}
	books[0].add(&all, run)
	one := syncResponse{OK: true, Messages: []syncEnvelope{env(run, 0, 1), env(run, 0, 1)}}
	books[1].add(&one, run)
	missing, devices := stormMissing(acked[:], targets, books)
	// r1 misses sender 1's seq 1; r2 never synced: misses 2
	if missing != 3 || devices != 2 {
		t.Errorf("missing %d on %d devices, want 3 on 2", missing, devices)
	}
	if books[1].dups != 1 {
		t.Errorf("dups %d", books[1].dups)
	}
}

func TestParseSyncResponse(t *testing.T) {
	p := []byte(`{"method":"sync","rid":"3","ok":true,"code":0,"messages":[{"seq":41,"id":"8172663910400000","conv":"d:alice:bob","from":"alice","to":"bob","ts":1750000000000,"cid":"a1b2c3","type":"text","body":"hello"},{"seq":7,"id":"8172663910400001","conv":"g:8172663","from":"carol","ts":1750000000000,"type":"notice","notice":{"event":"joined","user":"dave","by":"carol"}}],"since":{"d:alice:bob":42,"g:8172663":7},"more":true}`)
	r, err := parseSyncResponse(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "sync" || r.RID != "3" || !r.OK || !r.More || len(r.Messages) != 2 ||
		r.Messages[0].CID != "a1b2c3" || r.Messages[0].Body != "hello" || r.Messages[1].Seq != 7 ||
		r.Since["d:alice:bob"] != 42 || r.Since["g:8172663"] != 7 {
		t.Errorf("%+v", r)
	}
	r, err = parseSyncResponse([]byte(`{"method":"sync","ok":false,"code":150,"reason":"rate limited"}`))
	if err != nil || r.OK || r.Code != 150 || r.Reason != "rate limited" {
		t.Errorf("refusal: %+v %v", r, err)
	}
	if _, err := parseSyncResponse([]byte(`{"since":[1]}`)); !errors.Is(err, ErrJSON) {
		t.Errorf("bad since: %v", err)
	}
}

func TestSyncPageLimit(t *testing.T) {
	for size, want := range map[int]int{40: 200, 64: 200, 4096: 170, maxIMBody: 46} {
		if got := syncPageLimit(size); got != want {
			t.Errorf("size %d: limit %d, want %d", size, got, want)
		}
		if env := syncPageLimit(size) * (size + 512); env > 800<<10 {
			t.Errorf("size %d: a page may reach %d bytes", size, env)
		}
	}
}

func TestValidateStorm(t *testing.T) {
	storm := func() Config {
		c := DefaultConfig()
		c.Scenario, c.QoS, c.JWTSecretFile = "imstorm", 1, "/tmp/secret"
		return c
	}
	for _, tc := range []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"no secret", func(c *Config) { c.JWTSecretFile = "" }, "-jwt-secret-file"},
		{"msgs 0", func(c *Config) { c.Msgs = 0 }, "-msgs 0"},
		{"backlog too large", func(c *Config) { c.Subs, c.Msgs = 10000, 1001 }, "-msgs 1001"},
		{"fds", func(c *Config) { c.Subs, c.Pubs = 19000, 901 }, "-subs 19000"},
		{"rate", func(c *Config) { c.Rate = 100 }, "-rate 100"},
	} {
		c := storm()
		tc.mut(&c)
		checkValidate(t, tc.name, c, tc.want)
	}
	c, err := parseFlags([]string{"-scenario", "imstorm", "-jwt-secret-file", "x"}, io.Discard)
	if err != nil || c.QoS != 1 || c.Subs != 1000 || c.Pubs != 10 || c.Msgs != 20 || c.Concurrency != stormDials {
		t.Errorf("imstorm defaults: qos %d subs %d pubs %d msgs %d concurrency %d, err %v", c.QoS, c.Subs, c.Pubs, c.Msgs, c.Concurrency, err)
	}
	c, err = parseFlags([]string{"-scenario", "imstorm", "-jwt-secret-file", "x", "-subs", "5", "-concurrency", "7", "-duration", "1s"}, io.Discard)
	if err != nil || c.Subs != 5 || c.Concurrency != 7 {
		t.Errorf("imstorm flags: subs %d concurrency %d, err %v", c.Subs, c.Concurrency, err)
	}
}

// checkStorm checks a storm run: every planned send acked, every device
// reconnected and synced, every acked message synced exactly once.
func checkStorm(t *testing.T, res *Result, err error, n, k int) {
	t.Helper()
	if err != nil {
		t.Fatalf("run: %v (errors %v)", err, res.Errors)
	}
	if len(res.Errors) > 0 {
		t.Errorf("errors: %v", res.Errors)
	}
	want := int64(n * k)
	if res.Sent != want || res.Acked != want || res.Expected != want {
		t.Errorf("sent %d acked %d expected %d, want %d", res.Sent, res.Acked, res.Expected, want)
	}
	if res.Received != want || res.Lost != 0 || res.AckedLost != 0 || res.Duplicates != 0 {
		t.Errorf("synced %d of %d (missing %d, dups %d)", res.Received, want, res.Lost, res.Duplicates)
	}
	if res.Connected != n || res.Failed != 0 || res.SyncedDevices != n || res.SyncRPCs < int64(n) {
		t.Errorf("reconnected %d failed %d synced %d pages %d, want %d", res.Connected, res.Failed, res.SyncedDevices, res.SyncRPCs, n)
	}
	if res.ConnectRate <= 0 || res.Handshake.N != uint64(n) || res.Handshake.P99 < res.Handshake.P50 {
		t.Errorf("reconnects: rate %.0f handshake %+v", res.ConnectRate, res.Handshake)
	}
	if res.Latency.N != uint64(n) || res.Latency.P50 <= 0 || res.Latency.P99 < res.Latency.P50 || res.Latency.Max < res.Latency.P99 {
		t.Errorf("time to synced: %+v", res.Latency)
	}
	if res.AckLatency.N != uint64(want) || res.DeliveredPerS <= 0 || res.SentPerS <= 0 || res.Window <= 0 {
		t.Errorf("ack latency n %d, synced %.0f/s, sent %.0f/s, storm %.3f s", res.AckLatency.N, res.DeliveredPerS, res.SentPerS, res.Window)
	}
	if res.BrokerRSSPeak <= 0 || res.BrokerCPUS < 0 {
		t.Errorf("process sampling: rss peak %d cpu %.2f", res.BrokerRSSPeak, res.BrokerCPUS)
	}
}

func TestStormEndToEnd(t *testing.T) {
	addr, secret := newIMTestBroker(t, 100)
	ctx := context.Background()
	stormConfig := func(n, p, k int) Config {
		c := imTestConfig(addr, secret, "imstorm")
		c.Subs, c.Pubs, c.Msgs = n, p, k
		c.Settle, c.Concurrency = 100*time.Millisecond, stormDials
		return c
	}
	t.Run("20 receivers 2 senders 5 msgs", func(t *testing.T) {
		res, err := runStorm(ctx, stormConfig(20, 2, 5))
		checkStorm(t, res, err, 20, 5)
		if res.name() != "imstorm n=20 p=2 k=5 64B v4" {
			t.Errorf("name %q", res.name())
		}
	})
	t.Run("paged v5", func(t *testing.T) {
		// 250 messages in one conversation: more than a page of 200
		c := stormConfig(3, 1, 250)
		c.Version = 5
		res, err := runStorm(ctx, c)
		checkStorm(t, res, err, 3, 250)
		if res.SyncRPCs < 6 {
			t.Errorf("%d sync pages for 3 devices with 250 messages each", res.SyncRPCs)
		}
	})
}

// TestStormCommandLine drives imstorm through the command line, with the flags
// tools/imbench.sh adds: the human table, the JSON line and the report.
func TestStormCommandLine(t *testing.T) {
	addr, secret := newIMTestBroker(t, 100)
	out, errOut, lines := runTool(t, "-scenario", "imstorm", "-subs", "10", "-pubs", "3", "-msgs", "4", "-settle", "0s",
		"-duration", "10s", "-broker", addr, "-label", "imqttd", "-json", "-jwt-secret-file", secret)
	line := lastOf(lines)
	if !strings.Contains(out, "to synced p50/p90/p99/max") || !strings.Contains(out, "missing                      0 = 0.000 %") || line == "" {
		t.Fatalf("output:\n%s", out)
	}
	if !strings.Contains(errOut, "[imstorm] 10 of 10 devices reconnected and synced") {
		t.Errorf("stderr:\n%s", errOut)
	}
	for _, f := range []string{`"scenario":"imstorm"`, `"msgs":4`, `"synced_devices":10`, `"received":40`, `"lost":0`, `"sync_rpcs":`, `"send_s":`} {
		if !strings.Contains(line, f) {
			t.Errorf("JSON line lacks %s: %s", f, line)
		}
	}
	var md bytes.Buffer
	if err := report(nil, strings.NewReader(line+"\n"), &md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| devices synced | reconnect/s |") ||
		!strings.Contains(md.String(), "| imstorm n=10 p=3 k=4 64B v4 | imqttd | 1 | 10 |") ||
		strings.Contains(md.String(), "delivered msg/s") {
		t.Errorf("report:\n%s", md.String())
	}
}
