package headersafe

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"anonymous ID is accepted", "anon-0b8f0a4e-8c1c-4f55-9d1e-3c1e0c7a9b2f", nil},
		{"visible ASCII punctuation is accepted", "user@example.com:42/x_y-z.~!", nil},
		{"256 bytes is accepted", strings.Repeat("a", 256), nil},
		{"empty is refused", "", ErrEmpty},
		{"257 bytes is refused", strings.Repeat("a", 257), ErrTooLong},
		{"CR is refused", "anon-1\r", ErrBadChar},
		{"LF is refused", "anon-1\nX-Evil: 1", ErrBadChar},
		{"NUL is refused", "anon\x00", ErrBadChar},
		{"DEL is refused", "anon\x7f", ErrBadChar},
		{"tab is refused", "anon\t1", ErrBadChar},
		{"space is refused", "anon 1", ErrBadChar},
		{"semicolon is refused", "anon;customer_id=x", ErrBadChar},
		{"equals is refused", "a=b", ErrBadChar},
		{"comma is refused", "a,b", ErrBadChar},
		{"double quote is refused", `a"b`, ErrBadChar},
		{"backslash is refused", `a\b`, ErrBadChar},
		{"non-ASCII UTF-8 is refused", "anön", ErrBadChar},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.in)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Check(%q) = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"", "anon-x", "a;b", "\r\n", strings.Repeat("z", 300), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Check(s) != nil {
			return
		}
		if len(s) == 0 || len(s) > MaxLen {
			t.Fatalf("accepted length %d", len(s))
		}
		if strings.ContainsAny(s, ";=,\"\\ \r\n\t") {
			t.Fatalf("accepted a separator in %q", s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x21 || s[i] > 0x7e {
				t.Fatalf("accepted byte %#x", s[i])
			}
		}
	})
}
