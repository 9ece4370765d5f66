package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsTileTheRange(t *testing.T) {
	// Every bucket starts right after the previous one ends, so each value
	// has exactly one bucket; bucketOf inverts bucketBounds at both ends.
	var prevHi int64 = -1
	for i := range numBuckets {
		lo, hi := bucketBounds(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, prevHi+1)
		}
		if hi < lo {
			t.Fatalf("bucket %d: hi %d < lo %d", i, hi, lo)
		}
		if got := bucketOf(lo); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", lo, got, i)
		}
		if got := bucketOf(hi); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", hi, got, i)
		}
		if lo >= subCount {
			if w := float64(hi-lo+1) / float64(lo); w > 1.0/halfCount {
				t.Fatalf("bucket %d [%d,%d]: relative width %g > 1/%d", i, lo, hi, w, halfCount)
			}
		}
		prevHi = hi
	}
	if prevHi != math.MaxInt64 {
		t.Fatalf("last bucket ends at %d, want MaxInt64", prevHi)
	}
}

// exactQuantile is the nearest-rank quantile of sorted values.
func exactQuantile(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = max(rank, 1)
	return sorted[rank-1]
}

func TestQuantileMatchesNearestRank(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	sets := map[string]func() int64{
		"small exact values": func() int64 { return r.Int64N(subCount) },
		"uniform to 2s":      func() int64 { return r.Int64N(int64(2 * time.Second)) },
		"log-normal latency": func() int64 {
			return int64(math.Exp(r.NormFloat64()*1.5 + math.Log(float64(40*time.Millisecond))))
		},
		"two modes (shed and served)": func() int64 {
			if r.IntN(10) < 3 {
				return int64(200*time.Microsecond) + r.Int64N(int64(time.Millisecond))
			}
			return int64(80*time.Millisecond) + r.Int64N(int64(time.Second))
		},
	}
	for name, gen := range sets {
		t.Run(name, func(t *testing.T) {
			var h Histogram
			vals := make([]int64, 5001)
			for i := range vals {
				vals[i] = gen()
				h.Record(time.Duration(vals[i]))
			}
			slices.Sort(vals)
			if got := h.Count(); got != uint64(len(vals)) {
				t.Fatalf("Count = %d, want %d", got, len(vals))
			}
			if got, want := int64(h.Min()), vals[0]; got != want {
				t.Errorf("Min = %d, want %d", got, want)
			}
			if got, want := int64(h.Max()), vals[len(vals)-1]; got != want {
				t.Errorf("Max = %d, want %d", got, want)
			}
			for _, q := range []float64{0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1} {
				want := exactQuantile(vals, q)
				if q == 0 {
					want = vals[0]
				}
				got := int64(h.Quantile(q))
				if got < want {
					t.Errorf("Quantile(%v) = %d, below the exact %d", q, got, want)
				}
				if limit := want + want/halfCount; got > limit {
					t.Errorf("Quantile(%v) = %d, more than 1/%d above the exact %d", q, got, halfCount, want)
				}
				if want < subCount && got != want {
					t.Errorf("Quantile(%v) = %d, want exactly %d below %d ns", q, got, want, subCount)
				}
			}
		})
	}
}

func TestQuantileSmallSets(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram: want zeros")
	}
	// 1..100 ms: p50 is the 50th value, p99 the 99th, p100 the max.
	for i := 100; i >= 1; i-- {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.9, 90 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0.001, time.Millisecond}} {
		got := h.Quantile(tc.q)
		if got < tc.want || got > tc.want+tc.want/halfCount {
			t.Errorf("Quantile(%v) = %v, want %v (+0.8 %%)", tc.q, got, tc.want)
		}
	}
	if got, want := h.Mean(), 50500*time.Microsecond; got != want {
		t.Errorf("Mean = %v, want %v", got, want)
	}
	var one Histogram
	one.Record(-5) // clamped to 0
	one.Record(3 * time.Second)
	if got := one.Quantile(0.5); got != 0 {
		t.Errorf("Quantile(0.5) of {0, 3s} = %v, want 0", got)
	}
	if got := one.Quantile(0.51); got != 3*time.Second {
		t.Errorf("Quantile(0.51) of {0, 3s} = %v, want 3s (clamped to Max)", got)
	}
}

func TestMergeEqualsRecordingTogether(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var a, b, both Histogram
	for i := range 3000 {
		v := time.Duration(r.Int64N(int64(500 * time.Millisecond)))
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
		both.Record(v)
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&Histogram{}) // merging an empty one changes nothing
	m.Merge(&b)
	if m.counts != both.counts || m.n != both.n || m.min != both.min || m.max != both.max {
		t.Fatal("merged histogram differs from one that recorded every value")
	}
	if math.Abs(m.sum-both.sum) > 1 {
		t.Fatalf("merged sum %v, want %v", m.sum, both.sum)
	}
	for _, q := range []float64{0.5, 0.99} {
		if m.Quantile(q) != both.Quantile(q) {
			t.Errorf("Quantile(%v): merged %v, together %v", q, m.Quantile(q), both.Quantile(q))
		}
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	d := 37 * time.Millisecond
	for b.Loop() {
		h.Record(d)
		d += 13
	}
}
