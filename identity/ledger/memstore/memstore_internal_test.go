package memstore

import (
	"context"
	"strings"
	"testing"
	"time"
	"unsafe"
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

// IDs cut from a request's Cookie header must not keep the whole header
// alive for as long as the Store keeps them.
func TestStoreKeepsItsOwnCopiesOfIDs(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	header := "ANONYMOUS-USER-ID=user.7; uid=customer-42; _ga=" + strings.Repeat("x", 4096)
	anonID := header[len("ANONYMOUS-USER-ID="):len("ANONYMOUS-USER-ID=user.7")]
	userID := header[strings.Index(header, "customer-42"):][:len("customer-42")]
	s := New()
	if err := s.Record(ctx, anonID, day); err != nil {
		t.Fatal(err)
	}
	if err := s.Link(ctx, anonID, userID, day); err != nil {
		t.Fatal(err)
	}
	lo := uintptr(unsafe.Pointer(unsafe.StringData(header)))
	inHeader := func(v string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(v)))
		return lo <= p && p < lo+uintptr(len(header))
	}
	var kept []string
	for id := range s.other {
		kept = append(kept, id)
	}
	for user, byAnon := range s.links {
		kept = append(kept, user)
		for id := range byAnon {
			kept = append(kept, id)
		}
	}
	for id, users := range s.users {
		kept = append(kept, id)
		for user := range users {
			kept = append(kept, user)
		}
	}
	if len(kept) != 5 {
		t.Fatalf("kept %q, want the ID in other, the link both ways", kept)
	}
	for _, v := range kept {
		if inHeader(v) {
			t.Errorf("the Store keeps %q as a substring of the caller's Cookie header, keeping all of it alive", v)
		}
	}
}
