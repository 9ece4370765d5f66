package memstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
)

const canonical = "anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11"

// oddIDs are IDs that are not canonical, most of them nearly so. Each must
// come back from the Store exactly as given.
var oddIDs = []string{
	"a",
	"anon-",
	"anon-1",
	"anon-0B9F4A52-6F0E-4C4B-9D43-2B1A8F3C0E11",           // uppercase
	"anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0E11",           // one uppercase digit
	"ANON-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11",           // uppercase prefix
	"anon-{0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11}",         // braced
	"anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e1",            // one digit short
	"anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e111",          // one digit long
	"anon-0b9f4a526-f0e-4c4b-9d43-2b1a8f3c0e11",           // dash moved
	"anon-0b9f4a52-6f0e-4c4b-9d432b1a-8f3c0e11",           // dash moved
	"anon-0b9f4a52_6f0e_4c4b_9d43_2b1a8f3c0e11",           // underscores
	"anon-0b9f4a526f0e4c4b9d432b1a8f3c0e11",               // no dashes
	"anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0g11",           // 'g'
	"anon-zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",           // not hex
	"anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e1\n",          // 36 chars ending in a newline
	"anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11\n",         // trailing newline
	" anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11",          // leading space
	"0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11",                // no prefix
	"user-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11",           // other prefix
	"anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e1\x00",        // NUL
	"anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e\xff\xfe",     // not UTF-8
	"anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e1\u00e9"[:41], // cut UTF-8
}

func exportAll(t testing.TB, s ledger.Ledger) []ledger.Entry {
	t.Helper()
	var out []ledger.Entry
	if err := s.Export(context.Background(), func(e ledger.Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatalf("Export: %v", err)
	}
	return out
}

func TestIDsComeBackExactly(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 9, 0, 0, 123456789, time.UTC)
	want := at.Truncate(time.Microsecond)
	for _, id := range append([]string{canonical, "anon-00000000-0000-0000-0000-000000000000", "anon-ffffffff-ffff-ffff-ffff-ffffffffffff"}, oddIDs...) {
		s := memstore.New()
		if err := s.Record(ctx, id, at); err != nil {
			t.Fatalf("Record(%q): %v", id, err)
		}
		got := exportAll(t, s)
		if len(got) != 1 || got[0].AnonymousID != id || got[0].CustomUserID != "" ||
			!got[0].FirstSeen.Equal(want) || !got[0].LastSeen.Equal(want) ||
			got[0].FirstSeen.Location() != time.UTC || got[0].LastSeen.Location() != time.UTC {
			t.Errorf("Record(%q) then Export: got %+v, want that ID seen at %v UTC", id, got, want)
		}

		s = memstore.New()
		if err := s.Link(ctx, id, "user-1", at); err != nil {
			t.Fatalf("Link(%q): %v", id, err)
		}
		entries, err := s.Lookup(ctx, "user-1")
		if err != nil || len(entries) != 1 || entries[0].AnonymousID != id || !entries[0].FirstSeen.Equal(want) {
			t.Errorf("Link(%q) then Lookup: got %+v, %v", id, entries, err)
		}
		if got := exportAll(t, s); len(got) != 1 || got[0].AnonymousID != id || got[0].CustomUserID != "user-1" {
			t.Errorf("Link(%q) then Export: got %+v, want one row of that ID and user-1", id, got)
		}
		if err := s.Forget(ctx, "user-1"); err != nil {
			t.Fatal(err)
		}
		if got := exportAll(t, s); len(got) != 0 {
			t.Errorf("Link(%q), Forget: Export still has %+v", id, got)
		}
	}
}

func TestSpellingsOfOneUUIDAreDistinctIDs(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	upper := "anon-" + strings.ToUpper(canonical[5:])
	s := memstore.New()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Record(ctx, canonical, at))
	must(s.Record(ctx, upper, at.Add(time.Hour)))
	must(s.Record(ctx, canonical[5:], at.Add(2*time.Hour)))
	got := exportAll(t, s)
	want := []ledger.Entry{
		{AnonymousID: canonical[5:], FirstSeen: at.Add(2 * time.Hour), LastSeen: at.Add(2 * time.Hour)},
		{AnonymousID: upper, FirstSeen: at.Add(time.Hour), LastSeen: at.Add(time.Hour)},
		{AnonymousID: canonical, FirstSeen: at, LastSeen: at},
	}
	if len(got) != len(want) {
		t.Fatalf("Export: got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].AnonymousID != want[i].AnonymousID || !got[i].FirstSeen.Equal(want[i].FirstSeen) || !got[i].LastSeen.Equal(want[i].LastSeen) {
			t.Errorf("Export row %d: got %+v, want %+v", i, got[i], want[i])
		}
	}

	// Forgetting one spelling keeps the others.
	must(s.Forget(ctx, "", upper))
	if got := exportAll(t, s); len(got) != 2 || got[0].AnonymousID != canonical[5:] || got[1].AnonymousID != canonical {
		t.Errorf("Forget(%q): Export has %+v, want the two other spellings", upper, got)
	}
	must(s.Forget(ctx, "", canonical))
	if got := exportAll(t, s); len(got) != 1 || got[0].AnonymousID != canonical[5:] {
		t.Errorf("Forget(%q): Export has %+v, want only %q", canonical, got, canonical[5:])
	}
}

// TestTimesBeyondMicroseconds checks a canonical ID whose times do not fit
// in 64-bit Unix microseconds (about ±292 000 years from 1970): they are
// kept exactly, before and after the ID had times that fit.
func TestTimesBeyondMicroseconds(t *testing.T) {
	ctx := context.Background()
	far := time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)
	early := time.Date(-300000, 1, 1, 0, 0, 0, 0, time.UTC)
	day := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	for _, times := range [][]time.Time{
		{day, far, time.Time{}},
		{far, day},
		{early, day, far},
		{time.Time{}, day},
	} {
		s := memstore.New()
		first, last := times[0], times[0]
		for _, at := range times {
			if err := s.Record(ctx, canonical, at); err != nil {
				t.Fatal(err)
			}
			if at.Before(first) {
				first = at
			}
			if at.After(last) {
				last = at
			}
		}
		got := exportAll(t, s)
		if len(got) != 1 || got[0].AnonymousID != canonical || !got[0].FirstSeen.Equal(first) || !got[0].LastSeen.Equal(last) {
			t.Errorf("Record at %v: Export got %+v, want first %v, last %v", times, got, first, last)
		}
		// Pruning before the first time keeps it; after the last removes it.
		if n, err := s.Prune(ctx, first); err != nil || n != 0 {
			t.Errorf("Record at %v, Prune(%v): %d, %v; want 0", times, first, n, err)
		}
		if n, err := s.Prune(ctx, last.Add(time.Microsecond)); err != nil || n != 1 {
			t.Errorf("Record at %v, Prune(%v): %d, %v; want 1", times, last.Add(time.Microsecond), n, err)
		}
	}
}

func TestPruneCutoffsBeyondMicroseconds(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	s := memstore.New()
	if err := s.Record(ctx, canonical, day); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(ctx, time.Date(-300000, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || n != 0 {
		t.Errorf("Prune(year -300000): %d, %v; want 0", n, err)
	}
	if n, err := s.Prune(ctx, time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || n != 1 {
		t.Errorf("Prune(year 300000): %d, %v; want 1", n, err)
	}
}

func TestPruneKeepsLinkedCanonicalIDs(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	other := "anon-11111111-2222-4333-8444-555555555555"
	s := memstore.New()
	if err := s.Link(ctx, canonical, "user-1", day); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, other, day); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(ctx, day.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("Prune: %d, %v; want 1 (the unlinked ID)", n, err)
	}
	if got := exportAll(t, s); len(got) != 1 || got[0].AnonymousID != canonical || got[0].CustomUserID != "user-1" {
		t.Errorf("Export after Prune: %+v, want only the link of %q", got, canonical)
	}
}

// FuzzIDRoundTrip checks that any ID recorded, alone or next to its
// lowercase and uppercase spellings, comes back byte for byte from Export
// and Lookup, with its time.
func FuzzIDRoundTrip(f *testing.F) {
	f.Add(canonical, int64(1777626000), int64(123456789))
	for i, id := range oddIDs {
		f.Add(id, int64(i)*1e9, int64(i))
	}
	f.Add(canonical, int64(-62135596800), int64(0))      // the zero time
	f.Add(canonical, int64(9400000000000), int64(0))     // year ~300 000
	f.Add(canonical, int64(-9400000000000), int64(1000)) // year ~-300 000
	f.Fuzz(func(t *testing.T, id string, sec, nsec int64) {
		if id == "" {
			return
		}
		ctx := context.Background()
		at := time.Unix(sec, nsec)
		want := at.UTC().Truncate(time.Microsecond)
		ids := map[string]bool{id: true}
		s := memstore.New()
		for _, v := range []string{id, strings.ToLower(id), strings.ToUpper(id)} {
			if err := s.Record(ctx, v, at); err != nil {
				t.Fatalf("Record(%q): %v", v, err)
			}
			ids[v] = true
		}
		if err := s.Link(ctx, id, "user", at); err != nil {
			t.Fatalf("Link(%q): %v", id, err)
		}
		got := exportAll(t, s)
		if len(got) != len(ids) {
			t.Fatalf("Export of %q: %d rows %+v, want %d", id, len(got), got, len(ids))
		}
		for _, e := range got {
			if !ids[e.AnonymousID] || (e.CustomUserID != "") != (e.AnonymousID == id) {
				t.Errorf("Export of %q: unexpected row %+v", id, e)
			}
			delete(ids, e.AnonymousID)
			if !e.FirstSeen.Equal(want) || !e.LastSeen.Equal(want) || e.FirstSeen.Location() != time.UTC {
				t.Errorf("Export of %q: row %+v, want seen at %v UTC", id, e, want)
			}
		}
		entries, err := s.Lookup(ctx, "user")
		if err != nil || len(entries) != 1 || entries[0].AnonymousID != id || !entries[0].LastSeen.Equal(want) {
			t.Errorf("Lookup after Link(%q): %+v, %v", id, entries, err)
		}
	})
}
