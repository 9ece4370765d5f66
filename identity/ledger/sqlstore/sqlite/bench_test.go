package sqlite_test

import (
	"context"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// Store benchmarks on a SQLite file (WAL, synchronous NORMAL):
//
//	go test -run '^$' -bench . ./identity/ledger/sqlstore/sqlite/

// reportCPU adds the metric cpu-ns/op: the process's CPU time (all
// goroutines, the writer's included) per operation, which other load on
// the machine disturbs less than ns/op. Call it after b.ResetTimer's
// place, and call the function it returns at the end.
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		if end, ok2 := processCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func BenchmarkRecordNewID(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "ledger.db"))
	ctx, now := context.Background(), time.Now()
	var n atomic.Int64
	b.ReportAllocs()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Record(ctx, "anon-"+strconv.FormatInt(n.Add(1), 10), now); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRecordNewID64 is BenchmarkRecordNewID with 32 callers per
// GOMAXPROCS (64 on 2 cores), as a server under load at c64 has: the
// writer's batches hold many rows.
func BenchmarkRecordNewID64(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "ledger.db"))
	ctx, now := context.Background(), time.Now()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Record(ctx, "anon-"+strconv.FormatInt(n.Add(1), 10), now); err != nil {
				b.Error(err)
				return
			}
		}
	})
	st := s.Stats()
	b.ReportMetric(float64(st.Rows)/float64(st.Batches), "rows/batch")
}

// BenchmarkRecordUnchanged is the upsert that finds nothing to change.
func BenchmarkRecordUnchanged(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "ledger.db"))
	ctx, now := context.Background(), time.Now()
	if err := s.Record(ctx, "anon-1", now); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Record(ctx, "anon-1", now); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkLinkNew(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "ledger.db"))
	ctx, now := context.Background(), time.Now()
	var n atomic.Int64
	b.ReportAllocs()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if err := s.Link(ctx, "anon-"+strconv.FormatInt(i, 10), "customer-"+strconv.FormatInt(i%1000, 10), now); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "ledger.db"))
	ctx, now := context.Background(), time.Now()
	for i := range 1000 {
		if err := s.Link(ctx, "anon-"+strconv.Itoa(i), "customer-"+strconv.Itoa(i%100), now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if got, err := s.Lookup(ctx, "customer-7"); err != nil || len(got) != 10 {
			b.Fatalf("Lookup: got %d entries, %v", len(got), err)
		}
	}
}

// BenchmarkRevokedParallel: the read a logged-in visitor's every token
// request makes (Config.Revoker), from many goroutines at once, so that
// the Store's own bookkeeping (the open check Close waits for) is measured
// under contention and not only sequentially.
func BenchmarkRevokedParallel(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "ledger.db"))
	ctx := context.Background()
	if err := s.Revoke(ctx, "session-revoked", time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(8) // 8 goroutines per GOMAXPROCS, as concurrent requests are
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if revoked, err := s.Revoked(ctx, "session-live"); err != nil || revoked {
				b.Errorf("Revoked: got %v, %v; want false, nil", revoked, err)
				return
			}
		}
	})
}
