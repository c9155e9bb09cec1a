package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker/adminapi"
	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/persist"
)

// rogueSecret writes a secret of another cluster (what an attacker's own
// node has) into dir and returns the file.
func rogueSecret(t *testing.T, dir string) string {
	t.Helper()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "rogue.secret", hex.EncodeToString(raw)+"\n")
}

// leaderOf returns the node that leads, by cluster status.
func leaderOf(t *testing.T, nodes ...*node) *node {
	t.Helper()
	for _, nd := range nodes {
		if clusterStatus(t, nd).State == "Leader" {
			return nd
		}
	}
	t.Fatal("no leader")
	return nil
}

// waitExit waits for nd to exit on its own and returns its exit code.
func waitExit(t *testing.T, nd *node, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-nd.exit:
		nd.exit <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(timeout):
		t.Fatalf("imqttd still running after %s\n%s", timeout, nd.log())
		return 0
	}
}

// TestClusterRogueNode: a node with another cluster secret is not a member
// whatever it tries (issue 16, finding 1).
//
//   - added by address through POST /api/v1/cluster/nodes (imqttd cluster
//     join): 422 peer_unauthenticated, the configuration is unchanged, the
//     leader's probe fails the handshake on both sides, and the rogue's store
//     stays empty;
//   - started with --join to a member: it exits with an error, unjoined;
//     started with --join and no secret at all: a config error naming
//     cluster.secret_file;
//   - a raw client on the cluster port sending a forwarded write ('F' and an
//     rpcApply frame of a retained message) or raft garbage ('R') is closed
//     and nothing is written.
func TestClusterRogueNode(t *testing.T) {
	nodes := startCluster(t, 2)
	n1, n2 := nodes[0], nodes[1]

	t.Run("added through the admin API", func(t *testing.T) {
		dir := t.TempDir()
		cfg := writeFile(t, dir, "rogue.yaml", `
listeners:
  tcp: {enabled: true, address: "127.0.0.1:0"}
  ws: {enabled: false}
admin: {enabled: true, address: "127.0.0.1:0"}
cluster: {bootstrap: false}
`)
		raftAddr := freePort(t)
		rogue, _ := launchNode(t, dir, nil, append([]string{"--config", cfg, "--node-id", "rogue", "--raft-addr", raftAddr},
			secretArgs(rogueSecret(t, dir))...)...)
		rogue.waitLog(30*time.Second, "raft node started")

		out, errOut, code := clusterRun(t, n1, "join", "rogue", raftAddr)
		if code == 0 || !strings.Contains(errOut, "422 peer_unauthenticated") || !strings.Contains(errOut, "cluster's secret") {
			t.Fatalf("cluster join rogue: exit %d, stdout %q, stderr %q; want 422 peer_unauthenticated and a hint", code, out, errOut)
		}
		for _, nd := range nodes {
			if v := clusterStatus(t, nd).Voters(); len(v) != 2 {
				t.Fatalf("%s: voters after the refused join: %v", nd.addr("cluster"), v)
			}
		}
		// The leader's probe: the rogue could not prove the secret...
		if hs := clusterStatus(t, leaderOf(t, n1, n2)).Handshakes; hs.OutboundFailed[cluster.ReasonBadProof] == 0 {
			t.Fatalf("leader's handshake counters %+v", hs)
		}
		// ... and the rogue saw the leader hang up on it.
		rogue.waitLog(10*time.Second, "cluster connection refused: handshake failed", `"side":"inbound"`)
		if strings.Contains(rogue.log(), "imqttd started") {
			t.Fatal("the rogue started: it got a leader")
		}
		_ = rogue.signal(syscall.SIGKILL)
		waitExit(t, rogue, 20*time.Second)
		pc := persist.DefaultConfig()
		pc.Dir, pc.MinFreeBytes = filepath.Join(dir, "data", "fsm"), 0
		st, err := persist.Open(pc, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if idx := st.AppliedIndex(); idx != 0 {
			t.Fatalf("the rogue's store applied up to index %d: it received the cluster's state", idx)
		}
	})

	t.Run("joins with --join", func(t *testing.T) {
		dir := t.TempDir()
		rogue, _ := launchNode(t, dir, nil, append(append([]string{"--node-id", "rogue2", "--join", n1.addr("cluster")}, loopbackFlags...),
			secretArgs(rogueSecret(t, dir))...)...)
		if code := waitExit(t, rogue, 25*time.Second); code == 0 {
			t.Fatal("the rogue exited 0")
		}
		rogue.waitLog(time.Second, "join cluster", "peer did not prove the cluster secret")
		if v := clusterStatus(t, n1).Voters(); len(v) != 2 {
			t.Fatalf("voters after the rogue's --join: %v", v)
		}

		// No secret and no TLS: refused before anything is dialled.
		out, err := runCmd(t, 30*time.Second, nil, imqttdBin, append([]string{"serve", "--node-id", "nosecret",
			"--data-dir", filepath.Join(t.TempDir(), "data"), "--join", n1.addr("cluster")}, loopbackFlags...)...)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(out, "cluster.secret_file") {
			t.Fatalf("--join without a secret: %v\n%s", err, out)
		}
	})

	t.Run("raw client on the cluster port", func(t *testing.T) {
		before := clusterStatus(t, n1).Handshakes.InboundFailed[cluster.ReasonBadProof]
		cmd, err := persist.EncodeOps([]persist.Op{persist.PutRetainedOp(persist.Message{
			Topic: "evil/retained", Payload: []byte("written by a stranger, padded to fill a proof"), Retain: true, QoS: 1,
			Created: time.Now().UnixMilli()})})
		if err != nil {
			t.Fatal(err)
		}
		// A forwarded write as the cluster's RPC frames it (cluster/rpcframe.go):
		// frame = len uvarint | op (1 = apply) | request id uvarint | command.
		body := append([]byte{1, 1}, cmd...)
		forward := append([]byte{'F'}, binary.AppendUvarint(nil, uint64(len(body)))...)
		forward = append(forward, body...)
		garbage := append([]byte{'R'}, []byte(strings.Repeat("not raft at all ", 20))...)
		for _, msg := range [][]byte{forward, garbage} {
			c, err := net.Dial("tcp", n1.addr("cluster"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(c)
			_ = c.Close()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("%q...: the node kept the connection open (got %d bytes)", msg[:1], len(got))
			}
			if len(got) > 64 { // at most the handshake challenge: nonce and proof
				t.Fatalf("%q...: the node answered %d bytes", msg[:1], len(got))
			}
		}
		out, errOut, code := adminRun(t, n1, "ctl", "retained", "evil/#", "--json")
		if code != 0 {
			t.Fatalf("ctl retained: exit %d: %s", code, errOut)
		}
		var page adminapi.Page[adminapi.Retained]
		if err := json.Unmarshal([]byte(out), &page); err != nil {
			t.Fatalf("ctl retained output %q: %v", out, err)
		}
		if len(page.Items) != 0 {
			t.Fatalf("a stranger's forwarded write was applied: %s", out)
		}
		if after := clusterStatus(t, n1).Handshakes.InboundFailed[cluster.ReasonBadProof]; after < before+2 {
			t.Fatalf("bad proofs counted %d -> %d, want +2", before, after)
		}
		n1.waitLog(10*time.Second, "cluster connection refused: handshake failed", `"reason":"bad_proof"`)
	})
}
