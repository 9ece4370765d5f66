package uuidtext_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/webchatid/webchatid/internal/uuidtext"
)

func TestDecodeRefusesOtherSpellings(t *testing.T) {
	const c = "0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11"
	if u, ok := uuidtext.Decode(c); !ok || u != [16]byte{0x0b, 0x9f, 0x4a, 0x52, 0x6f, 0x0e, 0x4c, 0x4b, 0x9d, 0x43, 0x2b, 0x1a, 0x8f, 0x3c, 0x0e, 0x11} {
		t.Fatalf("Decode(%q) = %x, %v", c, u, ok)
	}
	for _, s := range []string{
		"", strings.ToUpper(c), "{" + c[1:35] + "}", "urn:uuid:" + c, c[:35], c + "1",
		"0b9f4a526-f0e-4c4b-9d43-2b1a8f3c0e11", strings.ReplaceAll(c, "-", "_"), c[:34] + "g1",
	} {
		if u, ok := uuidtext.Decode(s); ok {
			t.Errorf("Decode(%q) = %x, true; want refused", s, u)
		}
	}
}

// FuzzDecode: Decode accepts exactly what Encode writes.
func FuzzDecode(f *testing.F) {
	f.Add("0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11", []byte("0123456789abcdef"))
	f.Add("0B9F4A52-6F0E-4C4B-9D43-2B1A8F3C0E11", []byte{})
	f.Fuzz(func(t *testing.T, s string, b []byte) {
		if u, ok := uuidtext.Decode(s); ok {
			var buf [uuidtext.Len]byte
			if uuidtext.Encode(&buf, u); string(buf[:]) != s {
				t.Fatalf("Decode(%q) = %x, but Encode gives %q", s, u, buf[:])
			}
		}
		if len(b) != 16 {
			return
		}
		var buf [uuidtext.Len]byte
		uuidtext.Encode(&buf, [16]byte(b))
		if u, ok := uuidtext.Decode(string(buf[:])); !ok || u != [16]byte(b) {
			t.Fatalf("Decode(%q) = %x, %v; want %x", buf[:], u, ok, b)
		}
	})
}

func Example() {
	var buf [uuidtext.Len]byte
	uuidtext.Encode(&buf, [16]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef})
	fmt.Println(string(buf[:]))
	_, ok := uuidtext.Decode("01234567-89AB-CDEF-0123-456789ABCDEF")
	fmt.Println(ok)
	// Output:
	// 01234567-89ab-cdef-0123-456789abcdef
	// false
}
