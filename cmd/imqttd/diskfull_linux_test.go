//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestDiskFullProcess runs imqttd with its whole data directory (store and raft
// log) on a small tmpfs, in a private mount namespace (root only), with a
// filler file taking most of the space. A QoS 1 publisher to a persistent
// session gets PUBACK 0x97 once the free space falls to persist.min_free_bytes,
// never a success for what was not stored; after the filler is deleted the same
// broker process accepts again without a restart, and the subscriber receives
// every acknowledged message.
func TestDiskFullProcess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root for a private mount namespace and tmpfs (CI and the dev machines run as root)")
	}
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, dir, "imqttd.yaml", fmt.Sprintf(`
node: {id: df1, data_dir: %[1]s/data}
listeners:
  tcp: {enabled: true, address: "127.0.0.1:0"}
  ws: {enabled: false}
auth: {allow_anonymous: true}
acl:
  rules: ["topic readwrite #"]
admin: {enabled: false}
cluster: {bind_addr: "127.0.0.1:0"}
persist:
  min_free_bytes: 33554432
  mem_table_size: 4194304
  value_log_file_size: 33554432
`, mnt))
	// unshare execs sh in place, sh execs imqttd: the node's PID is imqttd's, and
	// /proc/PID/root shows its mounts.
	script := `mount -t tmpfs -o size=192m tmpfs "$0" && head -c 120M /dev/zero > "$0/filler" && exec "$@"`
	n := startNodeVia(t, dir, []string{"unshare", "-m", "--propagation", "private", "sh", "-c", script, mnt}, "--config", cfg)
	filler := filepath.Join("/proc", strconv.Itoa(n.cmd.Process.Pid), "root", mnt, "filler")
	if _, err := os.Stat(filler); err != nil {
		t.Fatalf("filler not visible through /proc: %v", err)
	}

	sub := connectSession(t, n.addr("tcp"), "df-sub", 3600)
	if _, err := sub.Subscribe(ctx10s(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "df/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	_ = sub.Disconnect(&paho.Disconnect{})

	conn, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := connectV5(t, conn, "df-pub", "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte{'x'}, 32<<10)
	acked := map[string]bool{}
	publish := func(i int) byte {
		t.Helper()
		topic := fmt.Sprintf("df/%d", i)
		pr, err := pub.Publish(ctx10s(t), &paho.Publish{Topic: topic, QoS: 1, Payload: payload})
		if pr == nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		if pr.ReasonCode == 0 {
			acked[topic] = true
		}
		return pr.ReasonCode
	}
	i, refused := 0, 0
	for ; i < 6000 && refused < 5; i++ {
		switch code := publish(i); code {
		case 0:
		case 0x97:
			refused++
		default:
			t.Fatalf("publish %d: reason %#x, want success or 0x97 quota exceeded", i, code)
		}
	}
	if refused == 0 {
		t.Fatalf("%d publishes of 32 KiB, none refused: the disk never filled", i)
	}
	t.Logf("%d acknowledged before the disk filled", len(acked))
	n.waitLog(5*time.Second, "disk") // the refusal is logged

	// Free the space: the same process accepts again, no restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 20; j++ {
		if code := publish(i + j); code != 0 {
			t.Fatalf("publish after freeing space: reason %#x", code)
		}
	}

	// Every acknowledged message reaches the persistent subscriber.
	sub = connectSession(t, n.addr("tcp"), "df-sub", 3600)
	got := map[string]bool{}
	deadline := time.After(60 * time.Second)
	for len(got) < len(acked) {
		select {
		case m := <-sub.msgs:
			if !acked[m.Topic] {
				t.Fatalf("received %s, which was never acknowledged", m.Topic)
			}
			got[m.Topic] = true
		case <-deadline:
			t.Fatalf("received %d of %d acknowledged messages", len(got), len(acked))
		}
	}
}
