package keys

import (
	"bytes"
	"strings"
	"testing"
)

func TestUnescapePEM(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a\nb", "a\nb"},
		{`a\nb`, "a\nb"},
		{`a\r\nb`, "a\nb"},
		{`"a\nb"`, "a\nb"},
		{`'a\nb'`, "a\nb"},
		{`"a\nb`, "\"a\nb"},
		{"  a\nb \n", "a\nb"},
		{`a\tb`, `a\tb`},
		{`a\`, `a\`},
		{`\\n`, "\\\n"},
	}
	for _, tt := range tests {
		if got := string(unescapePEM(tt.in)); got != tt.want {
			t.Errorf("unescapePEM(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzUnescapePEM(f *testing.F) {
	f.Add("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n")
	f.Add(`-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n`)
	f.Add(`"-----BEGIN PUBLIC KEY-----\r\nMFkw\r\n-----END PUBLIC KEY-----"`)
	f.Add(`\`)
	f.Add(`\\\r\n`)
	f.Add(`""`)
	f.Fuzz(func(t *testing.T, s string) {
		out := unescapePEM(s)
		if len(out) > len(s) {
			t.Fatalf("unescapePEM(%q) grew to %q", s, out)
		}
		// Escaping the newlines of escape-free text and unescaping it again
		// gives the text back, as a one-line environment variable should.
		if strings.ContainsAny(s, `\"'`) || strings.TrimSpace(s) != s {
			return
		}
		if got := unescapePEM(strings.ReplaceAll(s, "\n", `\n`)); !bytes.Equal(got, []byte(s)) {
			t.Fatalf("round trip of %q: got %q", s, got)
		}
	})
}
