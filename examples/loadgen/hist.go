package main

import (
	"math"
	"math/bits"
	"time"
)

// Histogram records durations in log-linear buckets, the layout of an HDR
// histogram: values below 2^subBits nanoseconds each have their own bucket,
// and every power of two above is split into 2^(subBits-1) equal buckets,
// so a bucket is never wider than 1/128 of its lower bound (0.8 %). It
// covers every non-negative int64 in a fixed 58 KiB array, so recording
// allocates nothing and histograms merge by adding counts. Count, min, max
// and sum are exact. A Histogram is not safe for concurrent use: give each
// worker its own and Merge them.
type Histogram struct {
	counts   [numBuckets]uint64
	n        uint64
	min, max int64
	sum      float64
}

const (
	subBits    = 8
	subCount   = 1 << subBits // 256: values below it are exact
	halfCount  = subCount / 2 // buckets per power of two above
	numBuckets = subCount + (63-subBits)*halfCount
)

// bucketOf returns the index of the bucket holding v (v >= 0).
func bucketOf(v int64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits // >= 1
	m := int(v >> shift)                     // in [halfCount, subCount)
	return subCount + (shift-1)*halfCount + (m - halfCount)
}

// bucketBounds returns the smallest and largest value of bucket i.
func bucketBounds(i int) (lo, hi int64) {
	if i < subCount {
		return int64(i), int64(i)
	}
	k := i - subCount
	shift := k/halfCount + 1
	m := int64(k%halfCount + halfCount)
	lo = m << shift
	return lo, lo + (int64(1) << shift) - 1
}

// Record adds one duration; a negative one counts as zero.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if h.n == 0 || v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds the values recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if h.n == 0 || o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest recorded value, or 0 when there is none.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min returns the smallest recorded value, or 0 when there is none.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean returns the mean of the recorded values, or 0 when there is none.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(math.Round(h.sum / float64(h.n)))
}

// Quantile returns the value at quantile q in [0, 1] by the nearest-rank
// rule: the smallest recorded value v such that at least q·Count values are
// <= v. It answers with the upper bound of v's bucket, clamped to [Min, Max],
// so it is never below the true nearest-rank value and at most 0.8 % above
// it. Quantile(0) is Min and Quantile(1) is Max; with no values it returns 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.min)
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketBounds(i)
			return time.Duration(min(max(hi, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
