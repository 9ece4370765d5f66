package identity_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
	"github.com/webchatid/webchatid/identity/revocation/memrevoke"
	"github.com/webchatid/webchatid/identity/revocation/revocationtest"
)

// Revoker's stores live apart from identity and do not import it, so these
// lines are what tie them to it: each fails to compile if Revoker changes
// without the in-memory store, the SQL store beside the ledger, or the
// conformance suite's copy of the contract.
var (
	_ identity.Revoker     = (*memrevoke.Store)(nil)
	_ identity.Revoker     = (*sqlstore.Store)(nil)
	_ identity.Revoker     = revocationtest.Store(nil)
	_ revocationtest.Store = identity.Revoker(nil)
)

// loginCookie logs in over TLS and returns the session cookie as a Cookie
// header value.
func loginCookie(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := do(h, "POST", "https://example.com/authenticate", "")
	c := setCookie(rec, "__Host-"+identity.DefaultSessionCookie)
	if rec.Code != http.StatusNoContent || c == nil {
		t.Fatalf("login: got %d, no session cookie", rec.Code)
	}
	return c.Name + "=" + c.Value
}

func sessionState(h http.Handler, cookieHeader string) string {
	return strings.TrimSpace(do(h, "GET", "https://example.com/session", cookieHeader).Body.String())
}

const loggedIn, anonymous = `{"logged_in":true,"name":"Cade"}`, `{"logged_in":false}`

// TestLogoutRevokesCopiedSessionCookie: with Config.Revoker, a session
// cookie copied before logout no longer logs anyone in afterwards; without
// it, it still does (the documented limit of cookie-only sessions).
func TestLogoutRevokesCopiedSessionCookie(t *testing.T) {
	for _, tc := range []struct {
		name    string
		revoker identity.Revoker
		after   string
	}{
		{"with a Revoker", memrevoke.New(), anonymous},
		{"without", nil, loggedIn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, identity.Config{Revoker: tc.revoker})
			stolen := loginCookie(t, srv)
			if got := sessionState(srv, stolen); got != loggedIn {
				t.Fatalf("before logout: got %s", got)
			}
			if rec := do(srv, "POST", "https://example.com/logout", stolen); rec.Code != http.StatusNoContent {
				t.Fatalf("logout: got %d", rec.Code)
			}
			if got := sessionState(srv, stolen); got != tc.after {
				t.Errorf("replayed after logout: got %s, want %s", got, tc.after)
			}
			tok := do(srv, "GET", "https://example.com/createJWT", stolen)
			if tc.revoker != nil && strings.Contains(tok.Body.String(), "cade") {
				t.Error("token after logout mentions the user")
			}
			// A new login works.
			if got := sessionState(srv, loginCookie(t, srv)); got != loggedIn {
				t.Errorf("a new login after logout: got %s", got)
			}
		})
	}
}

// TestRevokerReadAtMostOncePerTokenAndNeverWhenAnonymous: the revocation
// store costs one read per logged-in token request and none for anonymous
// ones; logout revokes until the session cookie's own expiry.
func TestRevokerReadAtMostOncePerTokenAndNeverWhenAnonymous(t *testing.T) {
	rv := newFakeRevoker()
	srv := newServer(t, identity.Config{Revoker: rv})
	for range 3 {
		do(srv, "GET", "https://example.com/createJWT", "")
	}
	if n := rv.reads.Load(); n != 0 {
		t.Errorf("anonymous tokens: %d revocation reads, want 0", n)
	}
	session := loginCookie(t, srv)
	rv.reads.Store(0)
	rec := do(srv, "GET", "https://example.com/createJWT", session)
	if rec.Code != http.StatusOK {
		t.Fatalf("token: %d", rec.Code)
	}
	if n := rv.reads.Load(); n != 1 {
		t.Errorf("logged-in token: %d revocation reads, want 1", n)
	}
	do(srv, "POST", "https://example.com/logout", session)
	if u := rv.lastUntil.Load(); u == nil || !u.Equal(fixedNow.Add(24*time.Hour)) {
		t.Errorf("Revoke until %v, want the cookie's expiry %v", u, fixedNow.Add(24*time.Hour))
	}
}

// TestRevokerDownFailsClosed: when the revocation store cannot be read, a
// session is not honoured (anonymous token; 503 with StrictSessions), and
// a logout whose revocation fails answers 503 and keeps the cookie, so the
// page can retry instead of believing the session ended.
func TestRevokerDownFailsClosed(t *testing.T) {
	for _, strict := range []bool{false, true} {
		rv := newFakeRevoker()
		srv := newServer(t, identity.Config{Revoker: rv, StrictSessions: strict})
		session := loginCookie(t, srv)
		rv.failRead.Store(true)
		rec := do(srv, "GET", "https://example.com/createJWT", session)
		switch {
		case strict && rec.Code != http.StatusServiceUnavailable:
			t.Errorf("strict: got %d, want 503", rec.Code)
		case !strict && (rec.Code != http.StatusOK || sessionState(srv, session) == loggedIn):
			t.Errorf("not strict: got %d (session %s), want an anonymous token", rec.Code, sessionState(srv, session))
		}
		if srv.Stats().SessionErrors == 0 {
			t.Error("the failure is not counted")
		}
		rv.failRead.Store(false)
		rv.failRevoke.Store(true)
		rec = do(srv, "POST", "https://example.com/logout", session)
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("logout with the store down: got %d, want 503", rec.Code)
		}
		for _, c := range rec.Result().Cookies() {
			if c.Name == "__Host-"+identity.DefaultSessionCookie {
				t.Errorf("the failed logout touched the session cookie: %v", c)
			}
		}
		if got := sessionState(srv, session); got != loggedIn {
			t.Errorf("after a failed logout: got %s, want still logged in", got)
		}
	}
}

// TestRevokerNeedsCookieSessions: Config.Revoker works on the sealed
// session cookie; with another session source New refuses it.
func TestRevokerNeedsCookieSessions(t *testing.T) {
	_, err := identity.New(identity.Config{
		SigningKeys: []identity.SigningKey{{Key: rsaKey(t, keyA)}},
		Sessions:    identity.ContextSessions{},
		Revoker:     memrevoke.New(),
		Logger:      discardLogger(),
	})
	if err == nil || !strings.Contains(err.Error(), "Config.Revoker") {
		t.Errorf("got %v, want an error naming Config.Revoker", err)
	}
}
