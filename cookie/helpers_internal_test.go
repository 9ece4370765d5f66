package cookie

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// clock returns a Now function pinned to t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// secretKey returns a 32-byte key filled with b. Never use such a key outside tests.
func secretKey(b byte) []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = b
	}
	return k
}

// validID is a well-formed default ID.
const validID = "anon-0b8f0a4e-8c1c-4f55-9d1e-3c1e0c7a9b2f"

// request returns a GET request, over TLS when tls is set, carrying each
// cookieHeader as a Cookie header line verbatim (not sanitized by AddCookie).
func request(tls bool, cookieHeaders ...string) *http.Request {
	target := "http://example.com/createJWT"
	if tls {
		target = "https://example.com/createJWT"
	}
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, h := range cookieHeaders {
		r.Header.Add("Cookie", h)
	}
	return r
}

// setCookies parses every Set-Cookie line of rec, failing on unparsable ones.
func setCookies(t *testing.T, rec *httptest.ResponseRecorder) []*http.Cookie {
	t.Helper()
	var out []*http.Cookie
	for _, line := range rec.Header().Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q does not parse: %v", line, err)
		}
		out = append(out, c)
	}
	return out
}

// onlySetCookie returns the single cookie set on rec.
func onlySetCookie(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	cs := setCookies(t, rec)
	if len(cs) != 1 {
		t.Fatalf("got %d Set-Cookie lines, want 1: %q", len(cs), rec.Header().Values("Set-Cookie"))
	}
	return cs[0]
}

// mustAnonymous builds an Anonymous or fails the test.
func mustAnonymous(t testing.TB, cfg Config) *Anonymous {
	t.Helper()
	a, err := NewAnonymous(cfg)
	if err != nil {
		t.Fatalf("NewAnonymous: %v", err)
	}
	return a
}

// mustSealer builds a Sealer or fails the test.
func mustSealer(t testing.TB, cfg SealerConfig) *Sealer {
	t.Helper()
	s, err := NewSealer(cfg)
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	return s
}
