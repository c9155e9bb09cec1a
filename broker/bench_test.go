package broker

import (
	"fmt"
	"sync/atomic"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

// BenchmarkPublishThroughHooks is one QoS 0 PUBLISH through the node's whole
// hook chain (limits, auth, acl, metrics, im, storage, route) and mochi's
// delivery to one matching subscriber (an inline subscription, so no socket
// write is measured), with 10,000 other subscriptions in the topic index.
func BenchmarkPublishThroughHooks(b *testing.B) {
	cfg := EmbeddedConfig()
	cfg.Node.DataDir = b.TempDir()
	cfg.Listeners.TCP.Address = "127.0.0.1:0"
	cfg.Listeners.WS.Enabled = false
	cfg.Admin.Enabled = false
	cfg.Cluster.BindAddr = "127.0.0.1:0"
	br, err := New(cfg, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Close(b.Context()) })
	for i := range 10000 {
		br.srv.Topics.Subscribe(fmt.Sprintf("c%d", i), packets.Subscription{Filter: fmt.Sprintf("im/u/user%d/#", i)})
	}
	var got atomic.Int64
	if err := br.srv.Subscribe("bench/+/x", 1, func(*mqtt.Client, packets.Subscription, packets.Packet) { got.Add(1) }); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if err := br.srv.Publish("bench/a/x", payload, false, 0); err != nil {
			b.Fatal(err)
		}
	}
	if got.Load() < int64(b.N) {
		b.Fatalf("delivered %d of %d", got.Load(), b.N)
	}
}

// BenchmarkTopicMatch is mochi's topic index lookup (every publish does one)
// with 10,000 per-user subscriptions plus a few wildcards.
func BenchmarkTopicMatch(b *testing.B) {
	idx := mqtt.NewTopicsIndex()
	for i := range 10000 {
		idx.Subscribe(fmt.Sprintf("c%d", i), packets.Subscription{Filter: fmt.Sprintf("im/u/user%d/#", i)})
	}
	for _, f := range []string{"#", "im/#", "im/+/+/msg", "$share/g/im/u/+/msg"} {
		idx.Subscribe("w-"+f, packets.Subscription{Filter: f})
	}
	b.ReportAllocs()
	for b.Loop() {
		s := idx.Subscribers("im/u/user5000/msg")
		if len(s.Subscriptions) == 0 {
			b.Fatal("no match")
		}
	}
}
