package persist

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

func benchMessage(size int) Message {
	m := msg("devices/abc/telemetry", "")
	m.Payload = bytes.Repeat([]byte{'p'}, size)
	m.Origin = "device-abc"
	m.Properties.UserProperties = []UserProperty{{"k", "v"}}
	return m
}

func BenchmarkCodec(b *testing.B) {
	for _, size := range []int{64, 1024} {
		m := benchMessage(size)
		enc, _ := m.MarshalBinary()
		b.Run(fmt.Sprintf("message/encode/%d", size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			buf := make([]byte, 0, len(enc))
			for b.Loop() {
				buf, _ = m.AppendBinary(buf[:0])
			}
		})
		b.Run(fmt.Sprintf("message/decode/%d", size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			var out Message
			for b.Loop() {
				if err := out.UnmarshalBinary(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	s := sess("client-123")
	s.Will = &Will{Topic: "im/presence/client-123", Payload: []byte("offline")}
	sEnc, _ := s.MarshalBinary()
	b.Run("session/encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(sEnc)))
		buf := make([]byte, 0, len(sEnc))
		for b.Loop() {
			buf, _ = s.AppendBinary(buf[:0])
		}
	})
	b.Run("session/decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(sEnc)))
		var out Session
		for b.Loop() {
			_ = out.UnmarshalBinary(sEnc)
		}
	})
	sub := Subscription{Filter: "devices/+/telemetry", QoS: 1, Identifier: 7}
	subEnc, _ := sub.MarshalBinary()
	b.Run("subscription/decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(subEnc)))
		var out Subscription
		for b.Loop() {
			_ = out.UnmarshalBinary(subEnc)
		}
	})
	ops := make([]Op, 64)
	for i := range ops {
		ops[i] = EnqueueOp(fmt.Sprintf("client-%d", i), benchMessage(64))
	}
	opsEnc, _ := EncodeOps(ops)
	b.Run("ops/encode/64", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(opsEnc)))
		buf := make([]byte, 0, len(opsEnc))
		for b.Loop() {
			buf, _ = AppendOps(buf[:0], ops)
		}
	})
	b.Run("ops/decode/64", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(opsEnc)))
		for b.Loop() {
			if _, err := DecodeOps(opsEnc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkApply: one raft entry of n Enqueue ops per iteration, on disk.
func BenchmarkApply(b *testing.B) {
	for _, sync := range []bool{false, true} {
		for _, size := range []int{64, 1024} {
			for _, n := range []int{1, 64, 256} {
				name := fmt.Sprintf("sync=%v/msg=%d/ops=%d", sync, size, n)
				b.Run(name, func(b *testing.B) {
					cfg := testConfig(b)
					cfg.SyncWrites = sync
					cfg.MemTableSize = defaultMemTableSize
					s := mustOpen(b, cfg)
					m := benchMessage(size)
					batch := make([]Op, n)
					for i := range batch {
						batch[i] = EnqueueOp(fmt.Sprintf("client-%d", i%16), m)
					}
					batches := [][]Op{batch}
					b.ReportAllocs()
					b.SetBytes(int64(n * size))
					idx := uint64(0)
					for b.Loop() {
						idx++
						if _, err := s.Apply(idx, batches); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "ops/s")
				})
			}
		}
	}
}

// BenchmarkQueueScan reads a page of 100 queued 1 KiB messages.
func BenchmarkQueueScan(b *testing.B) {
	s := mustOpen(b, testConfig(b))
	m := benchMessage(1024)
	var ops []Op
	for range 1000 {
		ops = append(ops, EnqueueOp("c", m))
	}
	mustApply(b, s, 1, ops)
	b.ReportAllocs()
	b.SetBytes(100 * 1024)
	for b.Loop() {
		q, err := s.Queue("c", 500, 100, time.Time{})
		if err != nil || len(q) != 100 {
			b.Fatalf("%d %v", len(q), err)
		}
	}
}

// BenchmarkFanout: one entry delivering a message to n queues, as n full
// copies (enqueue) or as one shared body and n references (put_body +
// enqueue_ref), then the dequeue that releases them. hooks/storage's
// thresholds (fanout.go) come from this.
func BenchmarkFanout(b *testing.B) {
	for _, size := range []int{64, 1024, 16384} {
		for _, n := range []int{2, 16, 256} {
			for _, shared := range []bool{false, true} {
				name := fmt.Sprintf("msg=%d/targets=%d/shared=%v", size, n, shared)
				b.Run(name, func(b *testing.B) {
					cfg := testConfig(b)
					cfg.MemTableSize = defaultMemTableSize
					s := mustOpen(b, cfg)
					m := benchMessage(size)
					var batch []Op
					if shared {
						batch = append(batch, PutBodyOp(m))
					}
					for i := range n {
						c := fmt.Sprintf("client-%d", i)
						if shared {
							batch = append(batch, EnqueueRefOp(c, QueueRef{QoS: 1}))
						} else {
							batch = append(batch, EnqueueOp(c, m))
						}
					}
					b.ReportAllocs()
					b.SetBytes(int64(n * size))
					idx, seq := uint64(0), uint64(0)
					for b.Loop() {
						idx++
						seq++
						if _, err := s.Apply(idx, [][]Op{batch}); err != nil {
							b.Fatal(err)
						}
						var deq []Op
						for i := range n {
							deq = append(deq, DequeueThroughOp(fmt.Sprintf("client-%d", i), seq))
						}
						idx++
						if _, err := s.Apply(idx, [][]Op{deq}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
