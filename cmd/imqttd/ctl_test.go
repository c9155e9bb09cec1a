package main

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/imqtt/imqtt/broker/adminapi"
	"github.com/imqtt/imqtt/cluster"
)

// ctlRun runs the built `imqttd ctl` with args and env (on top of a clean
// environment) and returns stdout, stderr and the exit code.
func ctlRun(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	return ctlRunIn(t, "", env, args...)
}

// ctlRunIn is ctlRun in the working directory dir ("" for the test's).
func ctlRunIn(t *testing.T, dir string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(imqttdBin, append([]string{"ctl"}, args...)...)
	cmd.Dir = dir
	// The test binary is built with -race, whose runtime sleeps 1 s at exit
	// by default (atexit_sleep_ms); ctl runs are short-lived processes.
	cmd.Env = append(append(cleanEnv(), "GORACE=atexit_sleep_ms=0"), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("imqttd ctl %v: %v", args, err)
		}
		return stdout.String(), stderr.String(), code
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("imqttd ctl %v did not finish in 30s", args)
	}
	return "", "", -1
}

// ctlOK runs ctl with the node's address from the node's working directory
// (where ctl finds the token the node generated, ./data/admin.token) and
// fails unless it exits 0.
func (a *adminNode) ctlOK(t *testing.T, args ...string) string {
	t.Helper()
	full := append([]string{"--addr", a.base}, args...)
	out, errOut, code := ctlRunIn(t, a.dir, nil, full...)
	if code != 0 {
		t.Fatalf("imqttd ctl %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

// wantLines checks that out has a line holding all of subs, for each set.
func wantLines(t *testing.T, out string, sets ...[]string) {
	t.Helper()
	for _, subs := range sets {
		found := false
		for _, line := range strings.Split(out, "\n") {
			all := true
			for _, s := range subs {
				all = all && strings.Contains(line, s)
			}
			if all {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("no line with %q in:\n%s", subs, out)
		}
	}
}

// TestCtlEndToEnd runs every `imqttd ctl` command against a running node, as
// tables and as --json, and checks the error exits.
func TestCtlEndToEnd(t *testing.T) {
	for _, eng := range []string{engineNative, engineNativeMemory} {
		t.Run(eng, func(t *testing.T) { testCtlEndToEnd(t, eng) })
	}
}

// testCtlEndToEnd is TestCtlEndToEnd on eng. With storage off the store holds no session: sessions lists none, and rm-session drops
// the offline session the engine holds in memory.
func testCtlEndToEnd(t *testing.T, eng string) {
	a := startAdminNodeOn(t, "", eng)
	durable := eng != engineNativeMemory
	tcp := a.addr("tcp")
	conn, err := dialMQTT(t, "tcp", tcp, nil)
	if err != nil {
		t.Fatal(err)
	}
	live, err := connectV5(t, conn, "ctl-live", "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := live.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "a/+", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	if rc := pubCode(t, live, "keep/ctl", true, "retained-by-ctl-test"); rc != 0 {
		t.Fatalf("publish: %#x", rc)
	}
	dur := connectSession(t, tcp, "ctl-dur", 600)
	if _, err := dur.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "q/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	_ = dur.Disconnect(&paho.Disconnect{})

	t.Run("tables", func(t *testing.T) {
		wantLines(t, a.ctlOK(t, "clients"),
			[]string{"CLIENT ID", "USER", "LISTENER", "REMOTE", "PROTO", "SUBS", "CONNECTED"},
			[]string{"ctl-live", "tcp", "127.0.0.1:", "5.0", "30s"})
		wantLines(t, a.ctlOK(t, "client", "ctl-live"),
			[]string{"client id:", "ctl-live"}, []string{"protocol:", "5.0"}, []string{"subscriptions: 1"}, []string{"a/+", "1"})
		if durable {
			out := a.ctlOK(t, "sessions", "--prefix", "ctl-")
			wantLines(t, out, []string{"CLIENT ID", "ONLINE", "EXPIRY"}, []string{"ctl-dur", "no", "5.0", "10m0s"})
			wantLines(t, a.ctlOK(t, "session", "ctl-dur"), []string{"online:", "no"}, []string{"q/#"})
		}
		wantLines(t, a.ctlOK(t, "subs", "a/#"), []string{"CLIENT ID", "ONLINE", "FILTER"}, []string{"ctl-live", "yes", "a/+"})
		wantLines(t, a.ctlOK(t, "subs", "--topic", "q/x"), []string{"ctl-dur", "no", "q/#"})
		wantLines(t, a.ctlOK(t, "retained", "keep/#"), []string{"TOPIC", "QOS", "SIZE"}, []string{"keep/ctl", "1", "20"})
		wantLines(t, a.ctlOK(t, "reload"), []string{"PART", "STATUS"}, []string{"acl", "reloaded", "no"})
		wantLines(t, a.ctlOK(t, "cluster"), []string{"state:", "Leader"}, []string{"ID", "ADDRESS", "VOTER"}, []string{"adm1", "yes", "yes"})
		wantLines(t, a.ctlOK(t, "version"), []string{"server:", "imqtt"}, []string{"ctl:", "imqttd"})
		wantLines(t, a.ctlOK(t, "health"), []string{"ok:", "node adm1"})
		// Flags after the command, several pages.
		wantLines(t, a.ctlOK(t, "clients", "--limit", "1", "--listener", "tcp"), []string{"ctl-live"})
	})

	t.Run("json", func(t *testing.T) {
		var cp adminapi.Page[adminapi.Client]
		if err := json.Unmarshal([]byte(a.ctlOK(t, "--json", "clients")), &cp); err != nil || len(cp.Items) != 1 || cp.Items[0].ClientID != "ctl-live" {
			t.Fatalf("clients --json: %+v %v", cp, err)
		}
		var sp adminapi.Page[adminapi.Session]
		wantSessions := 1
		if !durable {
			wantSessions = 0
		}
		if err := json.Unmarshal([]byte(a.ctlOK(t, "sessions", "--json")), &sp); err != nil || len(sp.Items) != wantSessions {
			t.Fatalf("sessions --json: %+v %v", sp, err)
		}
		var rp adminapi.Page[adminapi.Retained]
		if err := json.Unmarshal([]byte(a.ctlOK(t, "--json", "retained")), &rp); err != nil || len(rp.Items) != 1 || string(rp.Items[0].Payload) != "retained-by-ctl-test" {
			t.Fatalf("retained --json: %+v %v", rp, err)
		}
		var st cluster.Status
		if err := json.Unmarshal([]byte(a.ctlOK(t, "--json", "cluster")), &st); err != nil || st.State != "Leader" {
			t.Fatalf("cluster --json: %+v %v", st, err)
		}
		var rep adminapi.ReloadReport
		if err := json.Unmarshal([]byte(a.ctlOK(t, "--json", "reload")), &rep); err != nil || len(rep.Parts) < 2 {
			t.Fatalf("reload --json: %+v %v", rep, err)
		}
	})

	t.Run("changes", func(t *testing.T) {
		wantLines(t, a.ctlOK(t, "rm-retained", "keep/ctl"), []string{"deleted retained message on keep/ctl"})
		if out := a.ctlOK(t, "retained"); strings.Contains(out, "keep/ctl") {
			t.Fatalf("retained after rm-retained:\n%s", out)
		}
		wantLines(t, a.ctlOK(t, "rm-session", "ctl-dur"), []string{"deleted session ctl-dur"})
		wantLines(t, a.ctlOK(t, "kick", "ctl-live"), []string{"kicked ctl-live", "0x98"})
		select {
		case d := <-live.discon:
			if d.ReasonCode != 0x98 {
				t.Fatalf("reason %#x", d.ReasonCode)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("ctl kick: the client saw no DISCONNECT")
		}
	})

	t.Run("errors", func(t *testing.T) {
		// 404: exit 1 with the server's message.
		_, errOut, code := ctlRun(t, nil, "--addr", a.base, "--token", a.adminToken(), "client", "nobody")
		if code != 1 || !strings.Contains(errOut, "404") || !strings.Contains(errOut, "nobody") {
			t.Fatalf("unknown client: exit %d, %q", code, errOut)
		}
		// 401: wrong token, and the token from the environment.
		_, errOut, code = ctlRun(t, nil, "--addr", a.base, "--token", "wrong-token-0123456789abc", "clients")
		if code != 1 || !strings.Contains(errOut, "401") || !strings.Contains(errOut, "IMQTT_ADMIN_TOKEN") {
			t.Fatalf("wrong token: exit %d, %q", code, errOut)
		}
		out, errOut, code := ctlRun(t, []string{"IMQTT_ADMIN_TOKEN=" + a.adminToken(), "IMQTT_ADMIN_ADDRESS=" + a.addr("admin")}, "health")
		if code != 0 || !strings.Contains(out, "ok:") {
			t.Fatalf("token and address from the environment: exit %d, %q %q", code, out, errOut)
		}
		// 400: bad filter.
		_, errOut, code = ctlRun(t, nil, "--addr", a.base, "--token", a.adminToken(), "subs", "a/#/b")
		if code != 1 || !strings.Contains(errOut, "400") || !strings.Contains(errOut, "last level") {
			t.Fatalf("bad filter: exit %d, %q", code, errOut)
		}
		// Connection refused: a port nothing listens on.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := ln.Addr().String()
		_ = ln.Close()
		_, errOut, code = ctlRun(t, nil, "--addr", closed, "clients")
		if code != 1 || !strings.Contains(errOut, "connection refused") {
			t.Fatalf("no server: exit %d, %q", code, errOut)
		}
		// Usage errors: exit 2.
		for _, args := range [][]string{{}, {"bogus"}, {"client"}, {"kick", "a", "b"}, {"clients", "--topic", "x"}, {"--addr", "ftp://x", "clients"}} {
			_, errOut, code := ctlRun(t, nil, args...)
			if code != 2 {
				t.Fatalf("ctl %v: exit %d, want 2 (%q)", args, code, errOut)
			}
		}
	})
}

// TestCtlBaseURL covers --addr forms.
func TestCtlBaseURL(t *testing.T) {
	tests := map[string]string{
		"127.0.0.1:18083":           "http://127.0.0.1:18083",
		"http://127.0.0.1:18083/":   "http://127.0.0.1:18083",
		"https://admin.example:443": "https://admin.example:443",
		"[::1]:18083":               "http://[::1]:18083",
		"ftp://x":                   "",
		"http://":                   "",
	}
	for in, want := range tests {
		got, err := ctlBaseURL(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("ctlBaseURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got := envValue([]string{"A=1", "IMQTT_ADMIN_TOKEN=t"}, "IMQTT_ADMIN_TOKEN", "d"); got != "t" {
		t.Errorf("envValue = %q", got)
	}
	if got := envValue(os.Environ(), "IMQTT_NO_SUCH_VARIABLE_X", "d"); got != "d" {
		t.Errorf("envValue default = %q", got)
	}
}

func FuzzCtlBaseURL(f *testing.F) {
	for _, s := range []string{"127.0.0.1:18083", "http://h:1/", "https://h", "[::1]:1", "ftp://x", "http://", "", "::", "http://a b", "h:1/x?y#z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		base, err := ctlBaseURL(addr)
		if err != nil {
			return
		}
		if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") || strings.HasSuffix(base, "/") {
			t.Fatalf("ctlBaseURL(%q) = %q", addr, base)
		}
		if again, err := ctlBaseURL(base); err != nil || again != base {
			t.Fatalf("ctlBaseURL not idempotent on %q: %q, %v", base, again, err)
		}
	})
}
