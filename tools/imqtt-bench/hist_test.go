package main

import (
	"math"
	"testing"
)

func TestHistIndexMonotoneAndTight(t *testing.T) {
	prev := -1
	for _, v := range []int64{0, 1, 63, 64, 65, 127, 128, 1000, 1 << 20, 123456789, math.MaxInt64 / 3, math.MaxInt64} {
		i := histIndex(v)
		if i < prev || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d after %d", v, i, prev)
		}
		prev = i
		up := histValue(i)
		if up < v {
			t.Errorf("histValue(histIndex(%d)) = %d < value", v, up)
		}
		if v > 0 && float64(up-v)/float64(v) > 1.0/histSub+1e-9 {
			t.Errorf("value %d reported as %d: error above 1/%d", v, up, histSub)
		}
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for v := int64(1); v <= 10000; v++ {
		h.record(v * 1000)
	}
	for _, tc := range []struct {
		q    float64
		want int64
	}{{.5, 5_000_000}, {.9, 9_000_000}, {.99, 9_900_000}, {1, 10_000_000}} {
		got := h.quantile(tc.q)
		if got < tc.want || float64(got-tc.want)/float64(tc.want) > 1.0/histSub {
			t.Errorf("quantile(%v) = %d, want %d within %.1f%%", tc.q, got, tc.want, 100.0/histSub)
		}
	}
	var o hist
	o.record(20_000_000)
	h.merge(&o)
	if h.n != 10001 || h.max != 20_000_000 || h.quantile(1) != 20_000_000 {
		t.Errorf("merge: n %d max %d q1 %d", h.n, h.max, h.quantile(1))
	}
	var empty hist
	if empty.quantile(.5) != 0 {
		t.Error("empty histogram quantile not 0")
	}
}

func BenchmarkHistRecord(b *testing.B) {
	b.ReportAllocs()
	var h hist
	for i := range b.N {
		h.record(int64(i) * 997)
	}
}
