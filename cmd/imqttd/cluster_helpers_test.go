package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/imqtt/imqtt/broker/adminapi"
	"github.com/imqtt/imqtt/cluster"
)

// startCluster starts n imqttd processes on 127.0.0.1 (embedded default
// config, anonymous loopback clients): node 1 bootstraps (creating the
// cluster secret), node k joins through node k-1's cluster port with a copy
// of it. It waits until every node sees n voters.
func startCluster(t *testing.T, n int) []*node {
	t.Helper()
	return startClusterArgs(t, n)
}

// startClusterArgs is startCluster with extra imqttd arguments for every node
// (such as --config with users).
func startClusterArgs(t *testing.T, n int, extra ...string) []*node {
	t.Helper()
	var nodes []*node
	for i := 1; i <= n; i++ {
		args := append(append([]string{"--node-id", fmt.Sprintf("n%d", i)}, loopbackFlags...), extra...)
		if i == 1 {
			args = append(args, "--bootstrap")
		} else {
			args = append(append(args, "--join", nodes[i-2].addr("cluster")), secretArgs(secretFileIn(nodes[0].dir))...)
		}
		nodes = append(nodes, startNode(t, "", args...))
	}
	for _, nd := range nodes {
		waitVoters(t, nd, n)
	}
	return nodes
}

// clusterStatus runs `imqttd cluster status --json` against nd.
func clusterStatus(t *testing.T, nd *node) cluster.Status {
	t.Helper()
	out, errOut, code := clusterRun(t, nd, "status", "--json")
	if code != 0 {
		t.Fatalf("cluster status: exit %d: %s", code, errOut)
	}
	var st cluster.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("cluster status output %q: %v", out, err)
	}
	return st
}

// secretFileIn is the cluster secret a node started in dir created when it
// bootstrapped: the nodes of these tests keep their data in dir/data.
func secretFileIn(dir string) string {
	return filepath.Join(dir, "data", cluster.SecretFileName)
}

// secretArgs are the serve flags that give a node the cluster secret in file
// (a copy of the bootstrapping node's, as an operator would make).
func secretArgs(file string) []string { return []string{"--cluster-secret-file", file} }

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// clusterRun runs `imqttd cluster ARGS --addr <nd's admin>`.
func clusterRun(t *testing.T, nd *node, args ...string) (string, string, int) {
	t.Helper()
	return adminRun(t, nd, "cluster", args...)
}

// adminRun runs `imqttd SUB ARGS --addr <nd's admin>` in nd's working
// directory, where it finds the node's admin token by itself; SUB is cluster
// or ctl: every admin API call of the cluster tests goes through here.
func adminRun(t *testing.T, nd *node, sub string, args ...string) (string, string, int) {
	t.Helper()
	args = append(append(append([]string{sub}, args...), "--addr", nd.addr("admin")), nd.ctlTokenArgs()...)
	cmd := exec.Command(imqttdBin, args...)
	cmd.Dir = nd.dir
	cmd.Env = append(cleanEnv(), "GORACE=atexit_sleep_ms=0")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func waitVoters(t *testing.T, nd *node, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := clusterStatus(t, nd)
		if len(st.Voters()) == want && st.LeaderID != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: voters %v leader %q, want %d voters", st.NodeID, st.Voters(), st.LeaderID, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// routeTable reads GET /api/v1/cluster/routes of nd.
func routeTable(t *testing.T, nd *node) adminapi.RouteTable {
	t.Helper()
	status, out := nd.adminAPI(t, "GET", "/api/v1/cluster/routes", "")
	if status != 200 {
		t.Fatalf("GET routes: %d %s", status, out)
	}
	var rt adminapi.RouteTable
	if err := json.Unmarshal(out, &rt); err != nil {
		t.Fatalf("routes %q: %v", out, err)
	}
	return rt
}

// awaitRoute publishes probes on topic through pub until sub receives one
// (the subscription's route reached pub's node), then drains the probes.
func awaitRoute(t *testing.T, pub, sub *v5client, topic string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := pub.Publish(ctx10s(t), &paho.Publish{Topic: topic, QoS: 0, Payload: []byte("probe")}); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-sub.msgs:
			if string(m.Payload) != "probe" {
				t.Fatalf("got %s %q while probing", m.Topic, m.Payload)
			}
			for {
				select {
				case <-sub.msgs:
				case <-time.After(300 * time.Millisecond):
					return
				}
			}
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no route for %s after 15s", topic)
		}
	}
}

func dialV5(t *testing.T, nd *node, id string, clean bool) *v5client {
	t.Helper()
	conn, err := dialMQTT(t, "tcp", nd.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connectV5(t, conn, id, "", "", clean)
	if err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	return c
}

// waitSynced waits until every node applied what the leader had committed
// when it was called: state written through one node (a persistent
// subscription) is then in effect on all of them. A publish made through
// another node in the few milliseconds before that may miss it
// (docs/cluster.md, "Consistency").
func waitSynced(t *testing.T, nodes ...*node) {
	t.Helper()
	var target uint64
	for _, nd := range nodes {
		if st := clusterStatus(t, nd); st.State == "Leader" {
			target = st.CommitIndex
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, nd := range nodes {
		for clusterStatus(t, nd).AppliedIndex < target {
			if time.Now().After(deadline) {
				t.Fatalf("%v did not apply index %d in 10s", nd.addrs, target)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
