package cluster

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchSM is the cheapest possible state machine, so BenchmarkApply measures
// the write path (batcher, raft, log store fsync), not the state.
type benchSM struct {
	applied atomic.Uint64
}

func (s *benchSM) Apply(index uint64, cmds [][]byte) []any {
	res := make([]any, len(cmds))
	for i := range res {
		res[i] = index
	}
	s.applied.Store(index)
	return res
}

func (s *benchSM) AppliedIndex() (uint64, error) { return s.applied.Load(), nil }

func (s *benchSM) Snapshot(w io.Writer) error {
	_, err := w.Write(binary.BigEndian.AppendUint64(nil, s.applied.Load()))
	return err
}

func (s *benchSM) Restore(r io.Reader) error {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return err
	}
	s.applied.Store(binary.BigEndian.Uint64(b[:]))
	return nil
}

// BenchmarkApply measures committed commands per second on a real single node
// (real disk in b.TempDir(), fsync per raft append) for each log store, number
// of concurrent writers and BatchMaxCommands. Metrics: cmds/s, cmds/entry
// (batcher packing), cmds/fsync (raft log appends, which group-commit the
// entries queued together), p50-ms and p99-ms (Apply latency). Run:
//
//	go test -run '^$' -bench BenchmarkApply -benchtime 3s ./cluster/
func BenchmarkApply(b *testing.B) {
	for _, store := range []string{LogStoreBadger, LogStoreWAL} {
		for _, writers := range []int{1, 10, 100} {
			for _, batch := range []int{1, 16, 64} {
				name := fmt.Sprintf("store=%s/writers=%d/batch=%d", store, writers, batch)
				b.Run(name, func(b *testing.B) { benchApply(b, store, writers, batch) })
			}
		}
	}
}

// BenchmarkApplyInflight measures Config.BatchMaxInflight (entries in flight
// before the batcher holds commands back) on the Badger store, 64 commands per
// entry at most.
func BenchmarkApplyInflight(b *testing.B) {
	for _, writers := range []int{10, 30, 100} {
		for _, inflight := range []int{1, 2, 4, 16} {
			b.Run(fmt.Sprintf("writers=%d/inflight=%d", writers, inflight), func(b *testing.B) {
				benchApplyCfg(b, LogStoreBadger, writers, func(c *Config) { c.BatchMaxInflight = inflight })
			})
		}
	}
}

func benchApply(b *testing.B, store string, writers, batch int) {
	benchApplyCfg(b, store, writers, func(c *Config) { c.BatchMaxCommands = batch })
}

func benchApplyCfg(b *testing.B, store string, writers int, tune func(*Config)) {
	cfg := testConfig(b, b.TempDir(), store)
	cfg.ApplyTimeout = time.Minute
	tune(&cfg)
	n := openNode(b, cfg, &benchSM{})
	cmd := make([]byte, 100)
	before := n.Stats()

	var next atomic.Int64
	lat := make([][]time.Duration, writers)
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.SetBytes(int64(len(cmd)))
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if _, err := n.Apply(context.Background(), cmd); err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	st := n.Stats()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "cmds/s")
	b.ReportMetric(float64(st.Commands-before.Commands)/float64(max(st.Entries-before.Entries, 1)), "cmds/entry")
	b.ReportMetric(float64(st.Commands-before.Commands)/float64(max(st.LogAppends-before.LogAppends, 1)), "cmds/fsync")
	b.ReportMetric(float64(all[len(all)/2])/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100])/float64(time.Millisecond), "p99-ms")
}

func benchCmds(n, size int) [][]byte {
	cmds := make([][]byte, n)
	for i := range cmds {
		cmds[i] = make([]byte, size)
	}
	return cmds
}

func BenchmarkEncodeEntry(b *testing.B) {
	for _, n := range []int{1, 64} {
		cmds := benchCmds(n, 100)
		b.Run(fmt.Sprintf("cmds=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(entrySize(cmds)))
			buf := make([]byte, 0, entrySize(cmds))
			for b.Loop() {
				buf = appendEntry(buf[:0], cmds)
			}
		})
	}
}

func BenchmarkDecodeEntry(b *testing.B) {
	for _, n := range []int{1, 64} {
		data := appendEntry(nil, benchCmds(n, 100))
		b.Run(fmt.Sprintf("cmds=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			scratch := make([][]byte, 0, n)
			for b.Loop() {
				if _, err := decodeEntry(data, scratch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
