package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock, safe for concurrent reads.
type fakeClock struct{ t atomic.Pointer[time.Time] }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.set(t)
	return c
}
func (c *fakeClock) now() time.Time  { return *c.t.Load() }
func (c *fakeClock) set(t time.Time) { c.t.Store(&t) }

var day0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

func TestRecorderSeen(t *testing.T) {
	type step struct {
		at      time.Time
		id      string
		isNew   bool
		records int64 // total Record calls expected after the step
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"a new ID is recorded once", []step{
			{day0, "anon-1", true, 1},
			{day0.Add(time.Minute), "anon-1", false, 1},
			{day0.Add(time.Hour), "anon-1", false, 1},
		}},
		{"a known ID is recorded at most once per day", []step{
			{day0, "anon-1", false, 1},
			{day0.Add(15 * time.Hour), "anon-1", false, 1},
			{day0.Add(16 * time.Hour), "anon-1", false, 2}, // 00:00 UTC the next day
			{day0.Add(20 * time.Hour), "anon-1", false, 2},
		}},
		{"the day is the UTC day, whatever the clock's zone", []step{
			{time.Date(2026, 6, 1, 23, 59, 0, 0, time.UTC).In(time.FixedZone("UTC-5", -5*3600)), "anon-1", false, 1},
			{time.Date(2026, 6, 2, 0, 1, 0, 0, time.UTC).In(time.FixedZone("UTC-5", -5*3600)), "anon-1", false, 2},
		}},
		{"each ID is counted on its own", []step{
			{day0, "anon-1", true, 1},
			{day0, "anon-2", true, 2},
			{day0, "anon-1", false, 2},
			{day0, "anon-2", false, 2},
		}},
		{"a clock going back does not write again", []step{
			{day0.Add(24 * time.Hour), "anon-1", false, 1},
			{day0, "anon-1", false, 1},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &fakeLedger{}
			clock := newFakeClock(day0)
			r := NewRecorder(l, clock.now)
			for i, s := range tc.steps {
				clock.set(s.at)
				if err := r.Seen(context.Background(), s.id, s.isNew); err != nil {
					t.Fatalf("step %d: Seen: %v", i, err)
				}
				if got := l.recorded.Load(); got != s.records {
					t.Errorf("step %d: got %d Record calls, want %d", i, got, s.records)
				}
			}
		})
	}
}

func TestRecorderLinked(t *testing.T) {
	l := &fakeLedger{}
	clock := newFakeClock(day0)
	r := NewRecorder(l, clock.now)
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		at          time.Time
		id, user    string
		links       int64
		seenRecords int64 // Record calls after a following Seen(id, false)
	}{
		{"the first link is written", day0, "anon-1", "user-1", 1, 0},
		{"the same link the same day is not", day0.Add(time.Hour), "anon-1", "user-1", 1, 0},
		{"another user on the same ID is", day0.Add(time.Hour), "anon-1", "user-2", 2, 0},
		{"another ID for the same user is", day0.Add(time.Hour), "anon-2", "user-1", 3, 0},
		{"the same link the next day is", day0.Add(24 * time.Hour), "anon-1", "user-1", 4, 0},
	} {
		clock.set(tc.at)
		if err := r.Linked(ctx, tc.id, tc.user); err != nil {
			t.Fatalf("%s: Linked: %v", tc.name, err)
		}
		if got := l.linked.Load(); got != tc.links {
			t.Errorf("%s: got %d Link calls, want %d", tc.name, got, tc.links)
		}
		// Link moved the ID's last seen: Seen has nothing to write today.
		if err := r.Seen(ctx, tc.id, false); err != nil {
			t.Fatal(err)
		}
		if got := l.recorded.Load(); got != tc.seenRecords {
			t.Errorf("%s: got %d Record calls after Seen, want %d", tc.name, got, tc.seenRecords)
		}
	}
}

func TestRecorderRetriesFailedWrites(t *testing.T) {
	l := &fakeLedger{}
	r := NewRecorder(l, newFakeClock(day0).now)
	ctx := context.Background()

	l.fail.Store(1)
	if err := r.Seen(ctx, "anon-1", true); !errors.Is(err, errWrite) {
		t.Fatalf("Seen with a failing ledger: got %v, want the ledger's error", err)
	}
	if err := r.Seen(ctx, "anon-1", false); err != nil {
		t.Fatalf("Seen after the failure: %v", err)
	}
	if err := r.Seen(ctx, "anon-1", false); err != nil {
		t.Fatal(err)
	}
	if got := l.recorded.Load(); got != 1 {
		t.Errorf("got %d successful Record calls, want 1 (the retry)", got)
	}

	l.fail.Store(1)
	if err := r.Linked(ctx, "anon-1", "user-1"); !errors.Is(err, errWrite) {
		t.Fatalf("Linked with a failing ledger: got %v, want the ledger's error", err)
	}
	for range 2 {
		if err := r.Linked(ctx, "anon-1", "user-1"); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.linked.Load(); got != 1 {
		t.Errorf("got %d successful Link calls, want 1 (the retry)", got)
	}
}

func TestNilRecorderDoesNothing(t *testing.T) {
	r := NewRecorder(nil, nil)
	if r != nil {
		t.Fatalf("NewRecorder(nil, nil): got %v, want nil", r)
	}
	if err := r.Seen(context.Background(), "anon-1", true); err != nil {
		t.Errorf("nil Seen: got %v, want nil", err)
	}
	if err := r.Linked(context.Background(), "anon-1", "user-1"); err != nil {
		t.Errorf("nil Linked: got %v, want nil", err)
	}
}

func TestRecorderMemoryIsBounded(t *testing.T) {
	l := &fakeLedger{}
	clock := newFakeClock(day0)
	r := NewRecorder(l, clock.now)
	ctx := context.Background()
	const n = 3 * recorderShards * recorderShardCap
	for i := range n {
		id := fmt.Sprintf("anon-%d", i)
		if i == n/2 {
			clock.set(day0.Add(24 * time.Hour)) // older entries become evictable first
		}
		if err := r.Seen(ctx, id, true); err != nil {
			t.Fatal(err)
		}
		if err := r.Linked(ctx, id, "user-1"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range r.seen {
		if got := len(r.seen[i].days); got > recorderShardCap {
			t.Errorf("seen shard %d: got %d entries, want at most %d", i, got, recorderShardCap)
		}
		if got := len(r.links[i].days); got > recorderShardCap {
			t.Errorf("links shard %d: got %d entries, want at most %d", i, got, recorderShardCap)
		}
	}
	// Eviction only costs repeated (idempotent) writes, never a lost one.
	if got := l.recorded.Load(); got < n {
		t.Errorf("got %d Record calls, want at least %d", got, n)
	}
}

func TestRecorderConcurrentUse(t *testing.T) {
	l := &fakeLedger{}
	clock := newFakeClock(day0)
	r := NewRecorder(l, clock.now)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 500 {
				id := fmt.Sprintf("anon-%d", i%50)
				if err := r.Seen(context.Background(), id, false); err != nil {
					t.Error(err)
					return
				}
				if err := r.Linked(context.Background(), id, fmt.Sprintf("user-%d", g%4)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Concurrent first sightings may each write; after that nothing does.
	if got := l.recorded.Load(); got < 50 || got > 50*16 {
		t.Errorf("got %d Record calls, want between 50 and %d", got, 50*16)
	}
	if got := l.linked.Load(); got < 200 || got > 200*4 {
		t.Errorf("got %d Link calls, want between 200 and %d", got, 200*4)
	}
	before := l.recorded.Load() + l.linked.Load()
	for i := range 50 {
		r.Seen(context.Background(), fmt.Sprintf("anon-%d", i), false)
	}
	if after := l.recorded.Load() + l.linked.Load(); after != before {
		t.Errorf("got %d writes for IDs already written today, want 0", after-before)
	}
}

func TestUTCDay(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(86399, 0), 0},
		{time.Unix(86400, 0), 1},
		{time.Unix(-1, 0), -1},
		{time.Unix(-86400, 0), -1},
		{time.Unix(-86401, 0), -2},
	} {
		if got := utcDay(tc.t); got != tc.want {
			t.Errorf("utcDay(%v): got %d, want %d", tc.t.UTC(), got, tc.want)
		}
	}
}

func BenchmarkRecorderSeenNothingToWrite(b *testing.B) {
	r := NewRecorder(&fakeLedger{}, nil)
	ctx := context.Background()
	const id = "anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11"
	if err := r.Seen(ctx, id, true); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := r.Seen(ctx, id, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRecorderLinkedNothingToWrite(b *testing.B) {
	r := NewRecorder(&fakeLedger{}, nil)
	ctx := context.Background()
	const id = "anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11"
	if err := r.Linked(ctx, id, "customer-42"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := r.Linked(ctx, id, "customer-42"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// With Config.Subject returning the user's own ID, every link has anonID ==
// customUserID: such links must spread over the shards like any other, or
// one shard overflows and they are written again and again the same day.
func TestRecorderLinksWhoseSubIsTheUserID(t *testing.T) {
	l := &fakeLedger{}
	r := NewRecorder(l, newFakeClock(day0).now)
	ctx := context.Background()
	const n = 4 * recorderShardCap // well within the recorder's total bound
	for range 2 {
		for i := range n {
			user := fmt.Sprintf("customer-%d", i)
			if err := r.Linked(ctx, user, user); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := l.linked.Load(); got != n {
		t.Errorf("got %d Link calls for %d links seen twice the same day, want %d", got, n, n)
	}
}

// canonicalID is a canonical anonymous ID, as package cookie mints them.
func canonicalID(i int) string { return fmt.Sprintf("anon-0b9f4a52-6f0e-4c4b-9d43-%012x", i) }

// Canonical IDs are remembered by their 16 bytes, in maps without pointers;
// every other spelling stays a string of its own, never folded into them.
func TestRecorderCanonicalIDs(t *testing.T) {
	l := &fakeLedger{}
	clock := newFakeClock(day0)
	r := NewRecorder(l, clock.now)
	ctx := context.Background()
	id := canonicalID(1)
	upper := strings.ToUpper(id)
	step := func(name, id string, isNew bool, records int64) {
		t.Helper()
		if err := r.Seen(ctx, id, isNew); err != nil {
			t.Fatalf("%s: Seen: %v", name, err)
		}
		if got := l.recorded.Load(); got != records {
			t.Errorf("%s: got %d Record calls, want %d", name, got, records)
		}
	}
	step("a new canonical ID is written", id, true, 1)
	step("seen again today it is not", id, false, 1)
	step("its uppercase spelling is another ID", upper, false, 2)
	step("which is remembered too", upper, false, 2)
	var compact, strs int
	for i := range r.uuids {
		compact += len(r.uuids[i].days)
		strs += len(r.seen[i].days)
	}
	if compact != 1 || strs != 1 {
		t.Errorf("remembered %d canonical IDs by their bytes and %d as strings; want 1 and 1", compact, strs)
	}

	// Linked moves the canonical ID's last-seen time as well.
	other := canonicalID(2)
	if err := r.Linked(ctx, other, "user-1"); err != nil {
		t.Fatal(err)
	}
	step("an ID linked today is not written by Seen", other, false, 2)
	clock.set(day0.Add(24 * time.Hour))
	step("the next day it is", other, false, 3)

	// A failed write is not remembered.
	l.fail.Store(1)
	if err := r.Seen(ctx, canonicalID(3), true); !errors.Is(err, errWrite) {
		t.Fatalf("Seen with a failing ledger: got %v, want the ledger's error", err)
	}
	step("the retry after a failure is written", canonicalID(3), false, 4)
	step("and then remembered", canonicalID(3), false, 4)

	// Bounded like the strings.
	const n = 3 * recorderShards * recorderShardCap
	for i := range n {
		if err := r.Seen(ctx, canonicalID(100+i), true); err != nil {
			t.Fatal(err)
		}
	}
	for i := range r.uuids {
		if got := len(r.uuids[i].days); got > recorderShardCap {
			t.Errorf("canonical shard %d: got %d entries, want at most %d", i, got, recorderShardCap)
		}
	}
}
