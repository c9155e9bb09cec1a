package engine

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/mochi-mqtt/server/v2/packets"
)

// floodQoS1 starts pubs publishers that each write n QoS 1 PUBLISHes of
// 200 bytes to topic as fast as the socket takes them, never reading their
// PUBACKs; the returned WaitGroup ends when every write returned.
func floodQoS1(t *testing.T, te *testEngine, pubs, n int, topic string) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	for p := range pubs {
		pub := dialRaw(t, te.addr, 4)
		pub.connect(fmt.Sprintf("flood-%d", p), true, nil)
		var buf bytes.Buffer
		for i := range n {
			pay := fmt.Sprintf("%d/%d/%s", p, i, bytes.Repeat([]byte("x"), 180))
			b, err := encodeClient(packets.Packet{ProtocolVersion: 4, FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1},
				TopicName: topic, PacketID: uint16(i%65000 + 1), Payload: []byte(pay)})
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(b)
		}
		wg.Add(1)
		go func() { // owned: ends when the write returns (the test waits on wg)
			defer wg.Done()
			pub.c.SetWriteDeadline(time.Now().Add(60 * time.Second))
			pub.c.Write(buf.Bytes())
		}()
	}
	return &wg
}

// TestFanInQoS1NoLoss: publishers flooding one QoS 1 subscriber that keeps
// acking are paused while its session queue is past half of
// limits.max_queued_bytes, so nothing passes the bound and every message
// arrives (queuefull.go). Without the pause 4 × 2,000 messages of 200 bytes
// overrun a 64 KiB queue within milliseconds.
func TestFanInQoS1NoLoss(t *testing.T) {
	te := newTestEngine(t, func(c *Config, _ *transport.Config) {
		c.MaxQueuedBytes = 64 << 10
		c.MaxInflight = 10
		c.SlowSubscriberWait = 2 * time.Second
	})
	sub := dialRaw(t, te.addr, 4)
	sub.connect("fanin-sub", true, nil)
	sub.subscribe("fan/in", 1, nil)

	const pubs, n = 4, 2000
	wg := floodQoS1(t, te, pubs, n, "fan/in")
	seen := make(map[string]bool, pubs*n)
	deadline := time.Now().Add(60 * time.Second)
	for len(seen) < pubs*n && time.Now().Before(deadline) {
		pk, err := sub.tryRecv(10 * time.Second)
		if err != nil {
			break
		}
		if pk.FixedHeader.Type != packets.Publish {
			continue
		}
		seen[string(pk.Payload)] = true
		sub.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
	}
	wg.Wait()
	te.obs.mu.Lock()
	drops := te.obs.dropped[ext.DropQueuedBytes]
	te.obs.mu.Unlock()
	if drops != 0 || len(seen) != pubs*n {
		t.Fatalf("delivered %d of %d, dropped %d past max_queued_bytes", len(seen), pubs*n, drops)
	}
}

// TestFanInQoS1SlowSubscriber: a subscriber that stops acking is slow after
// limits.slow_subscriber_wait: its publishers are no longer held and the
// queue bound drops what passes it, so no publisher stays stuck.
func TestFanInQoS1SlowSubscriber(t *testing.T) {
	te := newTestEngine(t, func(c *Config, _ *transport.Config) {
		c.MaxQueuedBytes = 64 << 10
		c.MaxInflight = 10
		c.SlowSubscriberWait = 200 * time.Millisecond
	})
	sub := dialRaw(t, te.addr, 4)
	sub.connect("stuck-sub", true, nil)
	sub.subscribe("fan/stuck", 1, nil)

	wg := floodQoS1(t, te, 2, 2000, "fan/stuck")
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }() // owned: ends with the writes
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("publishers stuck behind a subscriber that never acks")
	}
	waitFor(t, "queue bound drops", func() bool {
		te.obs.mu.Lock()
		defer te.obs.mu.Unlock()
		return te.obs.dropped[ext.DropQueuedBytes] > 0
	})
}
