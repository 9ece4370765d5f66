package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
)

// base is the suite's clock origin: a fixed UTC instant with no
// sub-microsecond part, so stores that truncate to the microsecond return
// exactly what was written.
var base = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

// Run runs the conformance suite as subtests of t. open must return a new,
// empty ledger for the subtest it is given, and arrange (with t.Cleanup) to
// close it; it should fail the test, not skip, if the store cannot be
// opened.
func Run(t *testing.T, open func(t *testing.T) ledger.Ledger) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, l ledger.Ledger)
	}{
		{"lookup of an unknown user is empty, not an error", testLookupUnknown},
		{"record lists the ID unlinked in export", testRecordExport},
		{"record is idempotent", testRecordIdempotent},
		{"first seen only moves earlier and last seen only later", testSeenOrdering},
		{"the zero time is a time like any other", testZeroTime},
		{"link is listed by lookup and replaces the unlinked row", testLinkLookup},
		{"link is idempotent and widens its times", testLinkIdempotent},
		{"lookup orders by first seen then ID", testLookupOrder},
		{"times come back in UTC", testUTC},
		{"empty IDs are refused", testEmptyIDs},
		{"forget of an unknown user is not an error", testForgetUnknown},
		{"forget without IDs removes all of the user's IDs", testForgetAll},
		{"forget with IDs removes only those", testForgetSome},
		{"forget keeps an ID the user is not linked to", testForgetNotLinked},
		{"forget keeps an ID shared with another user", testShared},
		{"forget with no user removes the given IDs linked to nobody", testForgetUnlinked},
		{"forget with no user racing with link never removes a link", testForgetUnlinkedRace},
		{"export is ordered by ID then user", testExportOrder},
		{"IDs and users sort by byte order, whatever the database's collation", testByteOrder},
		{"export stops at fn's error", testExportError},
		{"a canceled context is refused", testCanceled},
		{"50 concurrent writers lose nothing", testConcurrent},
		{"forget racing with link never fails or deadlocks", testForgetRace},
		{"prune removes only never-linked IDs last seen before the cutoff", testPrune},
		{"prune keeps an ID recorded again after the cutoff", testPruneRecordAgain},
		{"prune of more IDs than one chunk removes them all", testPruneMany},
		{"prune racing with link never removes a link", testPruneRace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func lookup(t *testing.T, l ledger.Ledger, user string) []ledger.Entry {
	t.Helper()
	got, err := l.Lookup(context.Background(), user)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", user, err)
	}
	return got
}

func export(t *testing.T, l ledger.Ledger) []ledger.Entry {
	t.Helper()
	var got []ledger.Entry
	err := l.Export(context.Background(), func(e ledger.Entry) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return got
}

func entry(anon, user string, first, last time.Duration) ledger.Entry {
	return ledger.Entry{AnonymousID: anon, CustomUserID: user, FirstSeen: at(first), LastSeen: at(last)}
}

// same compares entries by ID and instant (== on time.Time would also
// compare monotonic readings and locations).
func same(a, b []ledger.Entry) bool {
	return slices.EqualFunc(a, b, func(x, y ledger.Entry) bool {
		return x.AnonymousID == y.AnonymousID && x.CustomUserID == y.CustomUserID &&
			x.FirstSeen.Equal(y.FirstSeen) && x.LastSeen.Equal(y.LastSeen)
	})
}

func wantEntries(t *testing.T, what string, got, want []ledger.Entry) {
	t.Helper()
	if !same(got, want) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func testLookupUnknown(t *testing.T, l ledger.Ledger) {
	if got := lookup(t, l, "nobody"); len(got) != 0 {
		t.Errorf("Lookup(unknown): got %v, want no entries", got)
	}
	must(t, l.Record(context.Background(), "anon-1", at(0)))
	if got := lookup(t, l, "nobody"); len(got) != 0 {
		t.Errorf("Lookup(unknown) with an unlinked ID stored: got %v, want no entries", got)
	}
}

func testRecordExport(t *testing.T, l ledger.Ledger) {
	must(t, l.Record(context.Background(), "anon-1", at(0)))
	wantEntries(t, "Export", export(t, l), []ledger.Entry{entry("anon-1", "", 0, 0)})
}

func testRecordIdempotent(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	for range 3 {
		must(t, l.Record(ctx, "anon-1", at(time.Hour)))
	}
	wantEntries(t, "Export", export(t, l), []ledger.Entry{entry("anon-1", "", time.Hour, time.Hour)})
}

func testSeenOrdering(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	for _, d := range []time.Duration{2 * time.Hour, time.Hour, 3 * time.Hour, 2 * time.Hour, time.Microsecond + time.Hour} {
		must(t, l.Record(ctx, "anon-1", at(d)))
		must(t, l.Link(ctx, "anon-1", "user-1", at(d)))
	}
	wantEntries(t, "Lookup", lookup(t, l, "user-1"), []ledger.Entry{entry("anon-1", "user-1", time.Hour, 3*time.Hour)})
	wantEntries(t, "Export", export(t, l), []ledger.Entry{entry("anon-1", "user-1", time.Hour, 3*time.Hour)})
}

func testZeroTime(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	zero := time.Time{}
	must(t, l.Link(ctx, "anon-1", "user-1", zero))
	must(t, l.Link(ctx, "anon-1", "user-1", at(0)))
	must(t, l.Record(ctx, "anon-2", zero))
	must(t, l.Record(ctx, "anon-2", at(0)))
	want := []ledger.Entry{
		{AnonymousID: "anon-1", CustomUserID: "user-1", FirstSeen: zero, LastSeen: at(0)},
		{AnonymousID: "anon-2", FirstSeen: zero, LastSeen: at(0)},
	}
	wantEntries(t, "Export", export(t, l), want)
}

func testLinkLookup(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	must(t, l.Record(ctx, "anon-1", at(0)))
	must(t, l.Link(ctx, "anon-1", "user-1", at(time.Minute)))
	wantEntries(t, "Lookup", lookup(t, l, "user-1"), []ledger.Entry{entry("anon-1", "user-1", time.Minute, time.Minute)})
	wantEntries(t, "Export", export(t, l), []ledger.Entry{entry("anon-1", "user-1", time.Minute, time.Minute)})

	// Link alone records the ID too.
	must(t, l.Link(ctx, "anon-2", "user-2", at(0)))
	wantEntries(t, "Lookup", lookup(t, l, "user-2"), []ledger.Entry{entry("anon-2", "user-2", 0, 0)})
}

func testLinkIdempotent(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	for range 3 {
		must(t, l.Link(ctx, "anon-1", "user-1", at(time.Hour)))
	}
	wantEntries(t, "Lookup after repeats", lookup(t, l, "user-1"), []ledger.Entry{entry("anon-1", "user-1", time.Hour, time.Hour)})
	must(t, l.Link(ctx, "anon-1", "user-1", at(25*time.Hour)))
	must(t, l.Link(ctx, "anon-1", "user-1", at(0)))
	wantEntries(t, "Lookup after widening", lookup(t, l, "user-1"), []ledger.Entry{entry("anon-1", "user-1", 0, 25*time.Hour)})
	if n := len(export(t, l)); n != 1 {
		t.Errorf("Export: got %d rows, want 1", n)
	}
}

func testLookupOrder(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	must(t, l.Link(ctx, "anon-c", "user-1", at(time.Hour)))
	must(t, l.Link(ctx, "anon-b", "user-1", at(0)))
	must(t, l.Link(ctx, "anon-a", "user-1", at(time.Hour)))
	must(t, l.Link(ctx, "anon-z", "user-2", at(0)))
	wantEntries(t, "Lookup", lookup(t, l, "user-1"), []ledger.Entry{
		entry("anon-b", "user-1", 0, 0),
		entry("anon-a", "user-1", time.Hour, time.Hour),
		entry("anon-c", "user-1", time.Hour, time.Hour),
	})
}

func testUTC(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	local := base.In(zone)
	must(t, l.Record(ctx, "anon-1", local))
	must(t, l.Link(ctx, "anon-2", "user-1", local.Add(987*time.Nanosecond)))
	for _, e := range append(export(t, l), lookup(t, l, "user-1")...) {
		for _, tm := range []time.Time{e.FirstSeen, e.LastSeen} {
			if tm.Location() != time.UTC {
				t.Errorf("%s: got location %v, want UTC", e.AnonymousID, tm.Location())
			}
			if !tm.Equal(base) && !tm.Equal(base.Add(987*time.Nanosecond)) {
				t.Errorf("%s: got %v, want %v (to the microsecond at least)", e.AnonymousID, tm, base)
			}
		}
	}
}

func testEmptyIDs(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		err  error
	}{
		{`Record("")`, l.Record(ctx, "", at(0))},
		{`Link("", user)`, l.Link(ctx, "", "user-1", at(0))},
		{`Link(anon, "")`, l.Link(ctx, "anon-1", "", at(0))},
	} {
		if tc.err == nil {
			t.Errorf("%s: got nil error, want one", tc.name)
		}
	}
	if got := export(t, l); len(got) != 0 {
		t.Errorf("Export after refused writes: got %v, want nothing", got)
	}
}

func testForgetUnknown(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	must(t, l.Record(ctx, "anon-1", at(0)))
	if err := l.Forget(ctx, "nobody"); err != nil {
		t.Errorf("Forget(unknown): got %v, want nil", err)
	}
	if err := l.Forget(ctx, "nobody", "anon-1", "anon-unknown"); err != nil {
		t.Errorf("Forget(unknown, ids...): got %v, want nil", err)
	}
	wantEntries(t, "Export", export(t, l), []ledger.Entry{entry("anon-1", "", 0, 0)})
}

func testForgetAll(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	must(t, l.Link(ctx, "anon-1", "user-1", at(0)))
	must(t, l.Link(ctx, "anon-2", "user-1", at(time.Hour)))
	must(t, l.Link(ctx, "anon-3", "user-2", at(0)))
	must(t, l.Record(ctx, "anon-4", at(0)))
	must(t, l.Forget(ctx, "user-1"))
	if got := lookup(t, l, "user-1"); len(got) != 0 {
		t.Errorf("Lookup after Forget: got %v, want nothing", got)
	}
	wantEntries(t, "Export", export(t, l), []ledger.Entry{
		entry("anon-3", "user-2", 0, 0),
		entry("anon-4", "", 0, 0),
	})
	// Once forgotten, an ID seen again starts afresh.
	must(t, l.Record(ctx, "anon-1", at(2*time.Hour)))
	wantEntries(t, "Export after re-record", export(t, l)[:1], []ledger.Entry{entry("anon-1", "", 2*time.Hour, 2*time.Hour)})
}

func testForgetSome(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	must(t, l.Link(ctx, "anon-1", "user-1", at(0)))
	must(t, l.Link(ctx, "anon-2", "user-1", at(time.Hour)))
	must(t, l.Link(ctx, "anon-3", "user-1", at(2*time.Hour)))
	must(t, l.Forget(ctx, "user-1", "anon-1", "anon-3", "anon-unknown"))
	wantEntries(t, "Lookup", lookup(t, l, "user-1"), []ledger.Entry{entry("anon-2", "user-1", time.Hour, time.Hour)})
	wantEntries(t, "Export", export(t, l), []ledger.Entry{entry("anon-2", "user-1", time.Hour, time.Hour)})
}

func testForgetNotLinked(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	must(t, l.Record(ctx, "anon-1", at(0)))
	must(t, l.Link(ctx, "anon-2", "user-2", at(0)))
	must(t, l.Link(ctx, "anon-3", "user-1", at(0)))
	must(t, l.Forget(ctx, "user-1", "anon-1", "anon-2"))
	wantEntries(t, "Export", export(t, l), []ledger.Entry{
		entry("anon-1", "", 0, 0),
		entry("anon-2", "user-2", 0, 0),
		entry("anon-3", "user-1", 0, 0),
	})
}

// testForgetUnlinked: a visitor who never logged in is known only by the ID
// in their cookie; erasing them must be able to remove that ID too.
func testForgetUnlinked(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	must(t, l.Record(ctx, "anon-1", at(0)))
	must(t, l.Record(ctx, "anon-2", at(0)))
	must(t, l.Link(ctx, "anon-3", "user-1", at(0)))
	if got := lookup(t, l, "anon-1"); len(got) != 0 {
		t.Errorf("Lookup(an unlinked anonymous ID): got %v, want no entries (Lookup takes a custom user ID)", got)
	}
	must(t, l.Forget(ctx, ""))
	if n := len(export(t, l)); n != 3 {
		t.Errorf("Forget(\"\") without IDs: got %d rows left, want all 3", n)
	}
	must(t, l.Forget(ctx, "", "anon-1", "anon-3", "anon-unknown"))
	wantEntries(t, "Export", export(t, l), []ledger.Entry{
		entry("anon-2", "", 0, 0),
		entry("anon-3", "user-1", 0, 0), // linked: only Forget("user-1") removes it
	})
}

// testForgetUnlinkedRace: Forget("", id) racing with Link(id, user) may or
// may not remove the ID first, but never the link (a store that checked for
// links and then deleted the ID without a lock would cascade it away).
func testForgetUnlinkedRace(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	const n = 200
	for i := range n {
		must(t, l.Record(ctx, fmt.Sprintf("anon-%03d", i), at(0)))
	}
	concurrently(t,
		func() error {
			for i := range n {
				if err := l.Link(ctx, fmt.Sprintf("anon-%03d", i), "user-1", at(time.Second)); err != nil {
					return fmt.Errorf("Link(anon-%03d): %w", i, err)
				}
			}
			return nil
		},
		func() error {
			for i := range n {
				if err := l.Forget(ctx, "", fmt.Sprintf("anon-%03d", i), fmt.Sprintf("anon-%03d", n-1-i)); err != nil {
					return fmt.Errorf("Forget(\"\", anon-%03d, anon-%03d): %w", i, n-1-i, err)
				}
			}
			return nil
		},
	)
	if got := len(lookup(t, l, "user-1")); got != n {
		t.Errorf("Lookup after the race: got %d links, want all %d", got, n)
	}
}

func testShared(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	must(t, l.Link(ctx, "anon-shared", "user-1", at(0)))
	must(t, l.Link(ctx, "anon-shared", "user-2", at(time.Hour)))
	must(t, l.Link(ctx, "anon-own", "user-1", at(time.Hour)))
	wantEntries(t, "Lookup(user-2)", lookup(t, l, "user-2"), []ledger.Entry{entry("anon-shared", "user-2", time.Hour, time.Hour)})

	must(t, l.Forget(ctx, "user-1"))
	if got := lookup(t, l, "user-1"); len(got) != 0 {
		t.Errorf("Lookup(user-1) after Forget: got %v, want nothing", got)
	}
	wantEntries(t, "Lookup(user-2) after Forget(user-1)", lookup(t, l, "user-2"), []ledger.Entry{entry("anon-shared", "user-2", time.Hour, time.Hour)})
	wantEntries(t, "Export after Forget(user-1)", export(t, l), []ledger.Entry{entry("anon-shared", "user-2", time.Hour, time.Hour)})

	must(t, l.Forget(ctx, "user-2"))
	if got := export(t, l); len(got) != 0 {
		t.Errorf("Export after forgetting both users: got %v, want nothing", got)
	}
}

func testExportOrder(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	must(t, l.Link(ctx, "anon-b", "user-2", at(0)))
	must(t, l.Link(ctx, "anon-b", "user-1", at(time.Hour)))
	must(t, l.Record(ctx, "anon-c", at(0)))
	must(t, l.Record(ctx, "anon-a", at(time.Hour)))
	must(t, l.Link(ctx, "anon-B", "user-1", at(0))) // byte order: "B" < "a"
	wantEntries(t, "Export", export(t, l), []ledger.Entry{
		entry("anon-B", "user-1", 0, 0),
		entry("anon-a", "", time.Hour, time.Hour),
		entry("anon-b", "user-1", time.Hour, time.Hour),
		entry("anon-b", "user-2", 0, 0),
		entry("anon-c", "", 0, 0),
	})
}

// testByteOrder: a database whose default collation is not byte order
// (PostgreSQL with an ICU or en_US locale) must still sort by byte order.
func testByteOrder(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	for _, user := range []string{"user-a", "user-B", "User-b"} {
		must(t, l.Link(ctx, "anon-a", user, at(0)))
	}
	must(t, l.Link(ctx, "anon-B", "user-a", at(0)))
	must(t, l.Link(ctx, "anon-_", "user-a", at(0)))
	must(t, l.Record(ctx, "anon-b", at(0)))
	wantEntries(t, "Export", export(t, l), []ledger.Entry{
		entry("anon-B", "user-a", 0, 0),
		entry("anon-_", "user-a", 0, 0),
		entry("anon-a", "User-b", 0, 0),
		entry("anon-a", "user-B", 0, 0),
		entry("anon-a", "user-a", 0, 0),
		entry("anon-b", "", 0, 0),
	})
	wantEntries(t, "Lookup", lookup(t, l, "user-a"), []ledger.Entry{
		entry("anon-B", "user-a", 0, 0),
		entry("anon-_", "user-a", 0, 0),
		entry("anon-a", "user-a", 0, 0),
	})
}

func testExportError(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	for _, id := range []string{"anon-1", "anon-2", "anon-3"} {
		must(t, l.Record(ctx, id, at(0)))
	}
	stop := errors.New("stop here")
	calls := 0
	err := l.Export(ctx, func(ledger.Entry) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("Export: got error %v, want fn's error", err)
	}
	if calls != 2 {
		t.Errorf("Export: got %d calls to fn, want 2", calls)
	}
	// fn may use the ledger.
	err = l.Export(ctx, func(e ledger.Entry) error {
		_, err := l.Lookup(ctx, "user-1")
		return err
	})
	if err != nil {
		t.Errorf("Export with fn calling Lookup: %v", err)
	}
}

func testCanceled(t *testing.T, l ledger.Ledger) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Record(ctx, "anon-1", at(0)); !errors.Is(err, context.Canceled) {
		t.Errorf("Record: got %v, want context.Canceled", err)
	}
	if err := l.Link(ctx, "anon-1", "user-1", at(0)); !errors.Is(err, context.Canceled) {
		t.Errorf("Link: got %v, want context.Canceled", err)
	}
	if _, err := l.Prune(ctx, at(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Errorf("Prune: got %v, want context.Canceled", err)
	}
	if got := export(t, l); len(got) != 0 {
		t.Errorf("Export after canceled writes: got %v, want nothing", got)
	}
}

// testConcurrent: 50 goroutines record 10 000 IDs and link each to one of
// 100 users, all also hammering one shared ID; then every row must be there.
func testConcurrent(t *testing.T, l ledger.Ledger) {
	const (
		workers = 50
		perW    = 200 // 50 × 200 = 10 000 IDs and 10 000 links
		users   = 100
	)
	ctx := context.Background()
	var jobs []func() error
	for w := range workers {
		jobs = append(jobs, func() error {
			for i := range perW {
				n := w*perW + i
				id := fmt.Sprintf("anon-%05d", n)
				user := fmt.Sprintf("user-%03d", n%users)
				when := at(time.Duration(n) * time.Millisecond)
				if err := l.Record(ctx, id, when); err != nil {
					return fmt.Errorf("Record(%s): %w", id, err)
				}
				if err := l.Link(ctx, id, user, when); err != nil {
					return fmt.Errorf("Link(%s, %s): %w", id, user, err)
				}
				if i%20 == 0 {
					if err := l.Link(ctx, "anon-shared", fmt.Sprintf("user-%03d", w), when); err != nil {
						return fmt.Errorf("Link(anon-shared): %w", err)
					}
				}
			}
			return nil
		})
	}
	concurrently(t, jobs...)

	rows := export(t, l)
	if got, want := len(rows), workers*perW+workers; got != want {
		t.Fatalf("Export: got %d rows, want %d", got, want)
	}
	seen := make(map[string]bool, len(rows))
	for _, e := range rows {
		if e.AnonymousID == "anon-shared" {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(e.AnonymousID, "anon-%05d", &n); err != nil {
			t.Fatalf("Export: unexpected row %v", e)
		}
		if want := fmt.Sprintf("user-%03d", n%users); e.CustomUserID != want || !e.FirstSeen.Equal(at(time.Duration(n)*time.Millisecond)) {
			t.Errorf("Export: got %v, want user %s first seen %v", e, want, at(time.Duration(n)*time.Millisecond))
		}
		seen[e.AnonymousID] = true
	}
	if len(seen) != workers*perW {
		t.Errorf("Export: got %d distinct IDs, want %d", len(seen), workers*perW)
	}
	for u := range users {
		user := fmt.Sprintf("user-%03d", u)
		got := lookup(t, l, user)
		want := workers * perW / users
		if u < workers {
			want++ // anon-shared
		}
		if len(got) != want {
			t.Errorf("Lookup(%s): got %d IDs, want %d", user, len(got), want)
		}
	}
}

// testForgetRace runs Forget against concurrent Link and Record calls on the
// same IDs (a store taking locks in different orders would deadlock), then
// checks that the survivors are consistent.
func testForgetRace(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	var jobs []func() error
	for w := range 4 {
		jobs = append(jobs, func() error {
			for i := range 100 {
				id := fmt.Sprintf("anon-%d", i%10)
				user := fmt.Sprintf("user-%d", (i+w)%3)
				if err := l.Link(ctx, id, user, at(time.Duration(i)*time.Second)); err != nil {
					return fmt.Errorf("Link(%s, %s): %w", id, user, err)
				}
				if err := l.Record(ctx, id, at(time.Duration(i)*time.Second)); err != nil {
					return fmt.Errorf("Record(%s): %w", id, err)
				}
			}
			return nil
		})
	}
	for w := range 2 {
		jobs = append(jobs, func() error {
			for i := range 50 {
				user := fmt.Sprintf("user-%d", (i+w)%3)
				var err error
				if i%2 == 0 {
					err = l.Forget(ctx, user)
				} else {
					err = l.Forget(ctx, user, fmt.Sprintf("anon-%d", i%10), fmt.Sprintf("anon-%d", (i+1)%10))
				}
				if err != nil {
					return fmt.Errorf("Forget(%s): %w", user, err)
				}
			}
			return nil
		})
	}
	concurrently(t, jobs...)
	// Every linked row Export lists is also found by Lookup, and the reverse.
	links := 0
	for _, e := range export(t, l) {
		if e.CustomUserID == "" {
			continue
		}
		links++
		found := false
		for _, g := range lookup(t, l, e.CustomUserID) {
			found = found || g.AnonymousID == e.AnonymousID
		}
		if !found {
			t.Errorf("Export lists %v, Lookup does not", e)
		}
	}
	n := 0
	for u := range 3 {
		n += len(lookup(t, l, fmt.Sprintf("user-%d", u)))
	}
	if n != links {
		t.Errorf("Lookup finds %d links, Export %d", n, links)
	}
}

// concurrently runs each job in its own goroutine, waits for all of them,
// and fails the test with every error they returned (a job stops at its
// first).
func concurrently(t *testing.T, jobs ...func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, job := range jobs {
		wg.Go(func() { errs[i] = job() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func prune(t *testing.T, l ledger.Ledger, cutoff time.Time) int {
	t.Helper()
	n, err := l.Prune(context.Background(), cutoff)
	if err != nil {
		t.Fatalf("Prune(%v): %v", cutoff, err)
	}
	return n
}

func testPrune(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	if n := prune(t, l, at(time.Hour)); n != 0 {
		t.Errorf("Prune of an empty ledger: got %d, want 0", n)
	}
	must(t, l.Record(ctx, "anon-old", at(0)))
	must(t, l.Record(ctx, "anon-old2", at(time.Minute)))
	must(t, l.Record(ctx, "anon-at-cutoff", at(time.Hour)))
	must(t, l.Record(ctx, "anon-new", at(2*time.Hour)))
	must(t, l.Link(ctx, "anon-old-linked", "user-1", at(0)))
	must(t, l.Link(ctx, "anon-shared", "user-2", at(0)))
	if n := prune(t, l, at(time.Hour)); n != 2 {
		t.Errorf("Prune: got %d removed, want 2 (anon-old, anon-old2)", n)
	}
	wantEntries(t, "Export after Prune", export(t, l), []ledger.Entry{
		entry("anon-at-cutoff", "", time.Hour, time.Hour), // not before the cutoff
		entry("anon-new", "", 2*time.Hour, 2*time.Hour),
		entry("anon-old-linked", "user-1", 0, 0),
		entry("anon-shared", "user-2", 0, 0),
	})
	if n := prune(t, l, at(time.Hour)); n != 0 {
		t.Errorf("Prune again: got %d removed, want 0", n)
	}
	// Once pruned, an ID seen again starts afresh.
	must(t, l.Record(ctx, "anon-old", at(3*time.Hour)))
	wantEntries(t, "Export after re-record", export(t, l)[2:3], []ledger.Entry{entry("anon-old", "", 3*time.Hour, 3*time.Hour)})
}

func testPruneRecordAgain(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	must(t, l.Record(ctx, "anon-1", at(0)))
	must(t, l.Record(ctx, "anon-1", at(2*time.Hour))) // last seen moves past the cutoff
	must(t, l.Record(ctx, "anon-2", at(0)))
	if n := prune(t, l, at(time.Hour)); n != 1 {
		t.Errorf("Prune: got %d removed, want 1", n)
	}
	wantEntries(t, "Export", export(t, l), []ledger.Entry{entry("anon-1", "", 0, 2*time.Hour)})
}

func testPruneMany(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	const n = 2500 // more than one transaction's worth in the SQL stores
	var jobs []func() error
	for w := range 10 {
		jobs = append(jobs, func() error {
			for i := w; i < n; i += 10 {
				if err := l.Record(ctx, fmt.Sprintf("anon-%04d", i), at(time.Duration(i%3)*time.Minute)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	concurrently(t, jobs...)
	must(t, l.Record(ctx, "anon-keep", at(time.Hour)))
	if got := prune(t, l, at(time.Hour)); got != n {
		t.Errorf("Prune: got %d removed, want %d", got, n)
	}
	wantEntries(t, "Export", export(t, l), []ledger.Entry{entry("anon-keep", "", time.Hour, time.Hour)})
}

// testPruneRace: Prune racing with Link on old, never-linked IDs may remove
// an ID before it is linked (Link then records it afresh), but never a link.
func testPruneRace(t *testing.T, l ledger.Ledger) {
	ctx := context.Background()
	const n = 300
	for i := range n {
		must(t, l.Record(ctx, fmt.Sprintf("anon-%03d", i), at(0)))
	}
	concurrently(t,
		func() error {
			for i := range n {
				if err := l.Link(ctx, fmt.Sprintf("anon-%03d", i), "user-1", at(0)); err != nil {
					return fmt.Errorf("Link(anon-%03d): %w", i, err)
				}
			}
			return nil
		},
		func() error {
			for range 30 {
				if _, err := l.Prune(ctx, at(time.Hour)); err != nil {
					return fmt.Errorf("prune: %w", err)
				}
			}
			return nil
		},
	)
	if got := len(lookup(t, l, "user-1")); got != n {
		t.Errorf("Lookup after the race: got %d links, want all %d", got, n)
	}
}
