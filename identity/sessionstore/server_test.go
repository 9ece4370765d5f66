package sessionstore_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
	"github.com/webchatid/webchatid/identity/sessionstore"
)

var quiet = slog.New(slog.DiscardHandler)

func newServer(t *testing.T, sessions identity.SessionSource, strict bool) (*identity.Server, *httptest.Server) {
	t.Helper()
	key, err := keys.LoadPrivateFile("../testdata/rsa2048-a.pem") // a test key
	if err != nil {
		t.Fatal(err)
	}
	srv, err := identity.New(identity.Config{
		SigningKeys:    []identity.SigningKey{{Key: key}},
		Sessions:       sessions,
		StrictSessions: strict,
		Logger:         quiet,
		Authenticate: func(r *http.Request) (*identity.SessionInfo, error) {
			if r.PostFormValue("user") != "cade" {
				return nil, identity.ErrUnauthenticated
			}
			return &identity.SessionInfo{UserName: "Cade", CustomUserID: "cade-id"}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return srv, ts
}

// token fetches a token and returns its sub and user_payload.
func token(t *testing.T, srv *identity.Server, c *http.Client, base string) (sub string, payload map[string]any) {
	t.Helper()
	resp, err := c.Get(base + "/createJWT")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/createJWT: %s", resp.Status)
	}
	tok, err := claims.Verify(string(body), srv.PublicKeys()[0])
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tok.Get(claims.UserPayloadClaim)
	b, _ := json.Marshal(p)
	json.Unmarshal(b, &payload)
	return tok.Subject(), payload
}

func loggedIn(t *testing.T, c *http.Client, base string, cookies ...*http.Cookie) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/session", nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		LoggedIn bool `json:"logged_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("/session: %s: %v", resp.Status, err)
	}
	return v.LoggedIn
}

// TestThroughServer: with a Store as Config.Sessions, a mid-session login
// keeps the token's sub and puts the user in user_payload; after /logout
// the token is anonymous again and the session cookie, replayed, logs
// nobody in.
func TestThroughServer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b sessionstore.Backend) {
		st := newStore(t, sessionstore.Config{Backend: b, Logger: quiet})
		srv, ts := newServer(t, st, false)
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}

		sub, p := token(t, srv, c, ts.URL)
		if p["custom_user_id"] != sub {
			t.Fatalf("anonymous user_payload %v; want custom_user_id = sub", p)
		}
		resp, err := c.PostForm(ts.URL+"/authenticate", url.Values{"user": {"cade"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("/authenticate: %s", resp.Status)
		}
		after, p := token(t, srv, c, ts.URL)
		if after != sub || p["custom_user_id"] != "cade-id" || p["name"] != "Cade" {
			t.Fatalf("after login: sub %q (before %q), user_payload %v; want the same sub and cade", after, sub, p)
		}
		u, _ := url.Parse(ts.URL)
		var copied *http.Cookie
		for _, ck := range jar.Cookies(u) {
			if ck.Name == st.Name() {
				copied = ck
			}
		}
		if copied == nil || strings.Contains(copied.Value, "cade") {
			t.Fatalf("session cookie %+v; want an opaque ID", copied)
		}

		resp, err = c.Post(ts.URL+"/logout", "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("/logout: %s", resp.Status)
		}
		if _, p := token(t, srv, c, ts.URL); p["custom_user_id"] == "cade-id" {
			t.Fatalf("after logout user_payload %v; want anonymous", p)
		}
		if loggedIn(t, http.DefaultClient, ts.URL, copied) {
			t.Fatal("the session cookie copied before /logout still logs in")
		}
	})
}

// loggedInThenBackendDown starts a Server (StrictSessions as strict) on a
// Store whose backend can be switched off, logs a client in as "cade", and
// switches the backend off.
func loggedInThenBackendDown(t *testing.T, strict bool) (*switchable, *sessionstore.Store, *httptest.Server, *http.Client) {
	t.Helper()
	b := &switchable{Backend: sessionstore.NewMemory()}
	st := newStore(t, sessionstore.Config{Backend: b, Logger: quiet})
	_, ts := newServer(t, st, strict)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(ts.URL+"/authenticate", url.Values{"user": {"cade"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		t.Fatalf("/authenticate: %s", resp.Status)
	}
	b.setDown(true)
	return b, st, ts, c
}

// TestThroughServerBackendDown: with StrictSessions, a failing backend
// makes the token endpoint answer 503, never an anonymous token for a user
// who may be logged in.
func TestThroughServerBackendDown(t *testing.T) {
	_, _, ts, c := loggedInThenBackendDown(t, true)
	resp, err := c.Get(ts.URL + "/createJWT")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/createJWT with the backend down: %s; want 503", resp.Status)
	}
}

// TestThroughServerLogoutBackendDown: a logout the backend could not carry
// out is answered 503 and keeps the session cookie (Store is an
// identity.SessionEnder), so the page does not show a logout that did not
// happen; once the backend is back, the same logout works.
func TestThroughServerLogoutBackendDown(t *testing.T) {
	var _ identity.SessionEnder = (*sessionstore.Store)(nil)

	b, st, ts, c := loggedInThenBackendDown(t, false)
	resp, err := c.Post(ts.URL+"/logout", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/logout with the backend down: %s; want 503", resp.Status)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == st.Name() {
			t.Fatalf("/logout that failed still set the session cookie: %+v", ck)
		}
	}
	b.setDown(false)
	if !loggedIn(t, c, ts.URL) {
		t.Fatal("after a failed logout the user is no longer logged in")
	}
	resp, err = c.Post(ts.URL+"/logout", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || loggedIn(t, c, ts.URL) {
		t.Fatalf("/logout with the backend back: %s; want 204 and logged out", resp.Status)
	}
}
