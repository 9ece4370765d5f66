package memstore

import (
	"context"
	"testing"
	"time"
)

// TestCanonicalIDsAreCompact checks where IDs are kept: a canonical one as
// 16 bytes in the pointer-free map, anything else as its string.
func TestCanonicalIDsAreCompact(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	s := New()
	for _, id := range []string{"anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11", "anon-00000000-0000-0000-0000-000000000000"} {
		if err := s.Record(ctx, id, day); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.anon) != 2 || len(s.other) != 0 {
		t.Errorf("two canonical IDs: %d compact, %d as strings; want 2, 0", len(s.anon), len(s.other))
	}
	for _, id := range []string{"anon-0B9F4A52-6F0E-4C4B-9D43-2B1A8F3C0E11", "a"} {
		if err := s.Record(ctx, id, day); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.anon) != 2 || len(s.other) != 2 {
		t.Errorf("and two others: %d compact, %d as strings; want 2, 2", len(s.anon), len(s.other))
	}
}
