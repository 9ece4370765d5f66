package anonkey_test

import (
	"strings"
	"testing"

	"github.com/webchatid/webchatid/identity/ledger/internal/anonkey"
)

func TestParseRoundTrip(t *testing.T) {
	for _, id := range []string{
		"anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11",
		"anon-00000000-0000-0000-0000-000000000000",
		"anon-ffffffff-ffff-ffff-ffff-ffffffffffff",
		"anon-01234567-89ab-cdef-0123-456789abcdef",
	} {
		u, ok := anonkey.Parse(id)
		if !ok || u.String() != id {
			t.Errorf("Parse(%q) = %x, %v; String() = %q", id, u, ok, u.String())
		}
	}
	u, _ := anonkey.Parse("anon-01234567-89ab-cdef-0123-456789abcdef")
	if want := (anonkey.UUID{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}); u != want {
		t.Errorf("Parse: got %x, want %x", u, want)
	}
}

// Near misses are not canonical: folding them would merge distinct IDs.
func TestParseRefusesOtherSpellings(t *testing.T) {
	const c = "anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11"
	for _, id := range []string{
		"", "anon-", "a",
		strings.ToUpper(c),
		"ANON-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11",
		"anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0E11",
		"anon-{0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e1}",
		"anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e1",
		c + "1",
		"anon-0b9f4a526-f0e-4c4b-9d43-2b1a8f3c0e11",
		"anon-0b9f4a52_6f0e_4c4b_9d43_2b1a8f3c0e11",
		"anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0eg1",
		"user-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11",
	} {
		if u, ok := anonkey.Parse(id); ok {
			t.Errorf("Parse(%q) = %x, true; want not canonical", id, u)
		}
	}
}

// FuzzParse: an ID is canonical only when it is the String of its bytes
// (so two distinct IDs never share a key), and every UUID's String is
// canonical.
func FuzzParse(f *testing.F) {
	f.Add("anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11", []byte("0123456789abcdef"))
	f.Add("anon-0B9F4A52-6F0E-4C4B-9D43-2B1A8F3C0E11", []byte{})
	f.Add("anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e1", []byte{0xff})
	f.Fuzz(func(t *testing.T, id string, b []byte) {
		if u, ok := anonkey.Parse(id); ok && u.String() != id {
			t.Fatalf("Parse(%q) = %x, true, but String() = %q", id, u, u.String())
		}
		if len(b) != len(anonkey.UUID{}) {
			return
		}
		u := anonkey.UUID(b)
		if v, ok := anonkey.Parse(u.String()); !ok || v != u {
			t.Fatalf("Parse(%q) = %x, %v; want %x, true", u.String(), v, ok, u)
		}
	})
}
