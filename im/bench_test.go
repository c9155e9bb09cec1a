package im

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkHandleSend measures a direct message end to end: decode, raft commit
// (one-voter node, Badger on disk), fan-out to the recorder, ack. Parallel
// senders (16 per CPU) share raft entries through the cluster batcher.
func BenchmarkHandleSend(b *testing.B) {
	for _, size := range []int{16, 1024} {
		b.Run("body="+strconv.Itoa(size), func(b *testing.B) {
			h := newHarness(b, func(_ *Config, o *Options) { o.Deliver = discard{} })
			body := strings.Repeat("x", size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			var n atomic.Int64
			b.SetParallelism(16) // many clients: raft entries carry many commands
			b.RunParallel(func(pb *testing.PB) {
				c := dev("alice", "bench")
				for pb.Next() {
					cid := strconv.FormatInt(n.Add(1), 10)
					r := Request{Topic: "im/send/user/bob", Payload: []byte(`{"cid":"` + cid + `","body":"` + body + `"}`), QoS: 1}
					if out := h.svc.Handle(bg(), c, r); !out.OK() {
						b.Errorf("%+v", out)
						return
					}
				}
			})
		})
	}
}

func benchEnvelope(size int) Envelope {
	return Envelope{ID: 123456789012345678, Conv: "d:alice:bob", Seq: 42, From: "alice", To: "bob",
		TS: 1_750_000_000_000, CID: "client-msg-1", Type: TypeText, Body: strings.Repeat("héllo \"w\" ", size/10+1)[:size]}
}

func BenchmarkEnvelopeEncode(b *testing.B) {
	for _, size := range []int{16, 1024} {
		b.Run("body="+strconv.Itoa(size), func(b *testing.B) {
			e := benchEnvelope(size)
			buf := make([]byte, 0, 2*size+256)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				buf = e.AppendJSON(buf[:0])
			}
		})
	}
}

func BenchmarkEnvelopeWithSeq(b *testing.B) {
	e := benchEnvelope(256)
	stored := e.appendStored(nil)
	buf := make([]byte, 0, len(stored)+32)
	b.ReportAllocs()
	b.SetBytes(int64(len(stored)))
	for b.Loop() {
		buf, _ = withSeq(buf[:0], stored, 42)
	}
}

func BenchmarkEnvelopeDecode(b *testing.B) {
	for _, size := range []int{16, 1024} {
		b.Run("body="+strconv.Itoa(size), func(b *testing.B) {
			e := benchEnvelope(size)
			data := e.AppendJSON(nil)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := DecodeEnvelope(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeSend(b *testing.B) {
	data := []byte(sendBody("client-msg-1", strings.Repeat("x", 200)))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := decodeSend(data, 1024); err != nil {
			b.Fatal(err)
		}
	}
}

// discard is a Deliverer that drops everything (benchmarks).
type discard struct{}

func (discard) Deliver(Delivery) error { return nil }
