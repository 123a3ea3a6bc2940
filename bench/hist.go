package main

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: every power of two is split into
// 1<<subBits buckets, so a recorded latency is off by less than 1/128
// (0.8%) of its value.
const subBits = 7

// maxShift bounds the largest value recorded: 256 ns << 40, far beyond any
// round's length. Larger values land in the last bucket.
const maxShift = 40

// histogram counts latencies in log-linear buckets, in the manner of an
// HDR histogram: exact below 256 ns, then 128 buckets per power of two. It
// has a fixed size, so recording never allocates. It is not safe for
// concurrent use: each worker has its own, merged after the round.
type histogram struct {
	counts [(maxShift + 2) << subBits]uint64
	total  uint64
	max    time.Duration
}

// bucket returns the index of the bucket that counts v nanoseconds.
func bucket(v uint64) int {
	n := bits.Len64(v)
	if n <= subBits+1 {
		return int(v)
	}
	shift := min(n-subBits-1, maxShift)
	return shift<<subBits + int(min(v>>shift, 1<<(subBits+1)-1))
}

// middle returns the value in the middle of bucket i, in nanoseconds.
func middle(i int) uint64 {
	if i < 1<<(subBits+1) {
		return uint64(i)
	}
	shift := i>>subBits - 1
	low := uint64(i-shift<<subBits) << shift
	return low + (uint64(1)<<shift)/2
}

// record counts one latency.
func (h *histogram) record(d time.Duration) {
	h.counts[bucket(uint64(max(d, 0)))]++
	h.total++
	h.max = max(h.max, d)
}

// merge adds the counts of o.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

// quantile returns the latency below which a fraction q of the recorded
// ones fall (q = 0.99 for p99), or 0 for an empty histogram.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(middle(i)), h.max)
		}
	}
	return h.max
}
