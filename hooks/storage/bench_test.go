package storage

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// BenchmarkDurablePublish measures QoS 1 publishes to one offline persistent
// subscriber (each acked only after its raft commit) with 1, 10 and 100
// concurrent publishers.
func BenchmarkDurablePublish(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("publishers=%d", n), func(b *testing.B) {
			br := startBrokerB(b, n)
			payload := make([]byte, 64)
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			b.ResetTimer()
			var wg sync.WaitGroup
			per := b.N / n
			if per == 0 {
				per = 1
			}
			for _, c := range br {
				wg.Add(1)
				go func(c *paho.Client) {
					defer wg.Done()
					for range per {
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						_, err := c.Publish(ctx, &paho.Publish{Topic: "bench/x", QoS: 1, Payload: payload})
						cancel()
						if err != nil {
							b.Error(err)
							return
						}
					}
				}(c)
			}
			wg.Wait()
		})
	}
}

// startBrokerB starts a broker with one offline persistent subscriber to
// bench/# and returns n connected clean publishers.
func startBrokerB(b *testing.B, n int) []*paho.Client {
	b.Helper()
	cfg := DefaultConfig()
	cfg.QueueMaxMessages = 1 << 30
	cfg.QueueMaxBytes = 1 << 40
	br := startBroker(b, b.TempDir(), cfg)
	sub, _ := connect(b, br.addr, "bench-sub", true, 3600)
	subscribe(b, sub, "bench/#", 1)
	br.disconnect(b, sub, "bench-sub")
	cs := make([]*paho.Client, n)
	for i := range cs {
		cs[i] = connectPub(b, br)
	}
	return cs
}
