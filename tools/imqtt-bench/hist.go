package main

import (
	"math"
	"math/bits"
)

// histSub is the number of linear sub-buckets per power of two: values are kept
// with a relative error below 1/histSub (about 1.6 %), as an HDR histogram with two
// significant digits would.
const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	histBuckets = (64 - histSubBits + 1) * histSub
)

// hist is a log-linear histogram of non-negative int64 values (nanoseconds here).
// It is not safe for concurrent use: each reader goroutine owns one and the run
// merges them at the end.
type hist struct {
	counts [histBuckets]uint64
	n      uint64
	max    int64
}

func histIndex(v int64) int {
	if v < histSub {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	u := uint64(v)
	e := bits.Len64(u) - histSubBits // >= 1
	return e*histSub + int(u>>uint(e-1)) - histSub
}

// histValue returns the upper bound of bucket i's range (what percentiles report).
func histValue(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	e := i / histSub
	m := uint64(i%histSub + histSub)
	v := (m+1)<<uint(e-1) - 1
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// record adds one value.
func (h *hist) record(v int64) {
	h.counts[histIndex(v)]++
	h.n++
	if v > h.max {
		h.max = v
	}
}

// merge adds o's counts to h.
func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	if o.max > h.max {
		h.max = o.max
	}
}

// quantile returns the value at quantile q (0..1), never above the recorded max.
func (h *hist) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := histValue(i)
			if v > h.max {
				v = h.max
			}
			return v
		}
	}
	return h.max
}
