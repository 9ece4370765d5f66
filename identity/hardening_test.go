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

// TestCookieSessionsLogToConfigLogger: a CookieSessions made with
// NewCookieSessions and given as Config.Sessions logs to Config.Logger, not
// to slog.Default.
func TestCookieSessionsLogToConfigLogger(t *testing.T) {
	cs, err := identity.NewCookieSessions(cookie.SealerConfig{Keys: [][]byte{sessionKey(7)}})
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	srv := newServer(t, identity.Config{Sessions: cs, Logger: logs.logger()})
	req := httptest.NewRequest("GET", "http://example.com/session", nil)
	req.AddCookie(&http.Cookie{Name: identity.DefaultSessionCookie, Value: strings.Repeat("A", 80)})
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("got status %d, want 200", rec.Code)
	}
	if !strings.Contains(logs.String(), "session cookie ignored") {
		t.Errorf("the ignored session cookie was not logged to Config.Logger:\n%s", logs.String())
	}
}

// TestNewRefusesKeySharedByBindingAndSessionKeys: one secret used both to
// MAC anonymous IDs and to seal sessions is refused, whichever positions.
func TestNewRefusesKeySharedByBindingAndSessionKeys(t *testing.T) {
	shared := sessionKey(9)
	for _, tc := range []struct {
		name    string
		binding [][]byte
		session [][]byte
	}{
		{"first keys", [][]byte{shared}, [][]byte{shared}},
		{"older keys", [][]byte{sessionKey(2), shared}, [][]byte{sessionKey(3), shared}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := identity.New(identity.Config{
				SigningKeys: []identity.SigningKey{{Key: rsaKey(t, keyA)}},
				SessionKeys: tc.session,
				Anonymous:   cookie.Config{BindingKeys: tc.binding},
				Logger:      discardLogger(),
			})
			if err == nil || !strings.Contains(err.Error(), "Config.SessionKeys") || !strings.Contains(err.Error(), "BindingKeys") {
				t.Fatalf("New: got %v, want an error naming SessionKeys and BindingKeys", err)
			}
		})
	}
	if _, err := identity.New(identity.Config{
		SigningKeys: []identity.SigningKey{{Key: rsaKey(t, keyA)}},
		SessionKeys: [][]byte{sessionKey(2)},
		Anonymous:   cookie.Config{BindingKeys: [][]byte{sessionKey(3)}},
		Logger:      discardLogger(),
	}); err != nil {
		t.Errorf("distinct keys: %v", err)
	}
}
