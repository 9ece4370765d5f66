package memstore_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger/memstore"
)

// canonicalID returns the i-th of a sequence of distinct IDs in the form the
// cookie package mints: "anon-" and a lowercase version-4 UUID.
func canonicalID(i uint64) string {
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], i*0x9e3779b97f4a7c15)
	binary.BigEndian.PutUint64(u[8:], i)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [41]byte
	copy(b[:], "anon-")
	hex.Encode(b[5:13], u[0:4])
	b[13] = '-'
	hex.Encode(b[14:18], u[4:6])
	b[18] = '-'
	hex.Encode(b[19:23], u[6:8])
	b[23] = '-'
	hex.Encode(b[24:28], u[8:10])
	b[28] = '-'
	hex.Encode(b[29:41], u[10:16])
	return string(b[:])
}

// BenchmarkRecord measures Record of a fresh canonical ID, the demo's hot
// case: every visitor of a load test is new.
func BenchmarkRecord(b *testing.B) {
	ctx := context.Background()
	ids := make([]string, 1<<18)
	for i := range ids {
		ids[i] = canonicalID(uint64(i))
	}
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	s := memstore.New()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%len(ids) == 0 && i > 0 {
			b.StopTimer()
			s = memstore.New()
			b.StartTimer()
		}
		if err := s.Record(ctx, ids[i%len(ids)], at); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryPerID reports the live heap a Store holds per fresh
// canonical ID (B/ID) after inserting 200 000 of them, and how much of it
// the garbage collector must scan (scan-B/ID). The IDs are made one by one
// and dropped, as in a server, so a Store that keeps the string pays for it.
func BenchmarkMemoryPerID(b *testing.B) {
	const n = 200_000
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	scan := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}}
	var perID, scanPerID float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		metrics.Read(scan)
		scanBefore := scan[0].Value.Uint64()
		s := memstore.New()
		for i := range uint64(n) {
			if err := s.Record(ctx, canonicalID(i), at.Add(time.Duration(i)*time.Microsecond)); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		metrics.Read(scan)
		scanAfter := scan[0].Value.Uint64()
		runtime.KeepAlive(s)
		perID = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
		scanPerID = float64(int64(scanAfter)-int64(scanBefore)) / n
	}
	b.ReportMetric(perID, "B/ID")
	b.ReportMetric(scanPerID, "scan-B/ID")
}
