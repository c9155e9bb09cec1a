package metrics_test

import (
	"testing"

	"github.com/imqtt/imqtt/hooks/metrics"
	"github.com/mochi-mqtt/server/v2/packets"
)

func newBenchHook(b *testing.B) *metrics.Hook {
	b.Helper()
	m, err := metrics.New(metrics.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return metrics.NewHook(m)
}

func BenchmarkHookOnPacketSent(b *testing.B) {
	h := newBenchHook(b)
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1, Remaining: 200}}
	buf := make([]byte, 203)
	b.ReportAllocs()
	for b.Loop() {
		h.OnPacketSent(nil, pk, buf)
	}
}

func BenchmarkHookOnPacketRead(b *testing.B) {
	h := newBenchHook(b)
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1, Remaining: 200}}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = h.OnPacketRead(nil, pk)
	}
}

func BenchmarkHookOnPacketSentParallel(b *testing.B) {
	h := newBenchHook(b)
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback, Remaining: 2}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.OnPacketSent(nil, pk, nil)
		}
	})
}
