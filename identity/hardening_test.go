package identity_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
)

// Tests of the fixes of issue 10 ("Hardening"), one per finding; the
// adversarial suite refers to them by name.

// TestLogLinesTruncateRequestValues: a cross-origin denial carrying a 900 KB
// Origin (and Sec-Fetch-Site, method and path) must not produce a 900 KB log
// line.
func TestLogLinesTruncateRequestValues(t *testing.T) {
	var logs logBuffer
	srv := newServer(t, identity.Config{Logger: logs.logger()})
	huge := strings.Repeat("a", 900<<10)
	req := httptest.NewRequest("POST", "http://example.com/logout?"+huge, nil)
	req.URL.Path = "/logout"
	req.Header.Set("Origin", "https://evil.example/"+huge)
	req.Header.Set("Sec-Fetch-Site", "cross-site"+huge)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("got status %d, want 403", rec.Code)
	}
	// A path and a method of attacker size, through the failure log.
	req = httptest.NewRequest("POST", "http://example.com/authenticate", nil)
	req.URL.Path = "/authenticate/" + huge
	rec = httptest.NewRecorder()
	srv.LogoutHandler().ServeHTTP(rec, req)
	req = httptest.NewRequest("GET", "http://example.com/createJWT", nil)
	req.Method = "X" + strings.ToUpper(huge)
	rec = httptest.NewRecorder()
	srv.TokenHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("got status %d, want 405", rec.Code)
	}
	out := logs.String()
	if !strings.Contains(out, "cross-origin request refused") {
		t.Fatalf("no denial logged:\n%.500s", out)
	}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if len(line) > 4096 {
			t.Errorf("log line %d is %d bytes, want at most 4096: %.300s…", i, len(line), line)
		}
	}
	if !strings.Contains(out, "bytes)") {
		t.Errorf("truncated values do not say how long they were:\n%.1000s", out)
	}
}

// TestAnonymousMaxAgeWarningBelow45Days: IBM advises keeping the anonymous
// ID at least 45 days; New warns below that, not only below 30.
func TestAnonymousMaxAgeWarningBelow45Days(t *testing.T) {
	for _, tc := range []struct {
		maxAge time.Duration
		warn   bool
	}{
		{0, false},
		{45 * 24 * time.Hour, false},
		{90 * 24 * time.Hour, false},
		{44 * 24 * time.Hour, true},
		{35 * 24 * time.Hour, true},
		{7 * 24 * time.Hour, true},
	} {
		var logs logBuffer
		newServer(t, identity.Config{Logger: logs.logger(), Anonymous: cookie.Config{MaxAge: tc.maxAge}})
		if got := strings.Contains(logs.String(), "Config.Anonymous.MaxAge"); got != tc.warn {
			t.Errorf("MaxAge %v: warned = %v, want %v\n%s", tc.maxAge, got, tc.warn, logs.String())
		}
	}
}
