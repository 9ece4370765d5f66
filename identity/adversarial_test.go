package identity_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
	"github.com/webchatid/webchatid/identity/revocation/memrevoke"
	"github.com/webchatid/webchatid/internal/logbuf"
)

// The adversarial suite: what an attacker can send to Handler(), one row per
// attack, each checking the one defense that stops it. The attackers are
// those of SECURITY.md: a visitor editing their own browser's cookies, a
// cross-site page, someone who knows a sub, and a request flood's oversized
// inputs. After every row the captured log is searched for every token,
// cookie value, password and key the row saw: none may appear.

const (
	advOrigin        = "https://app.example"
	advTrustedOrigin = "https://login.example"
	advPassword      = "let-me-in-7f3a"
)

var (
	advSessionKey = secretKey(0x51)
	advBindingKey = secretKey(0x62)
)

// advFixture is one server with everything on: sealed sessions, bound
// anonymous IDs, a ledger, CORS for advOrigin and a trusted login origin.
type advFixture struct {
	t       *testing.T
	srv     *identity.Server
	h       http.Handler
	logs    *logbuf.Buffer
	ledger  *memstore.Store
	secrets []string // values that must never reach the log
}

func newAdvFixture(t *testing.T, edit ...func(*identity.Config)) *advFixture {
	t.Helper()
	f := &advFixture{t: t, logs: &logbuf.Buffer{}, ledger: memstore.New()}
	cfg := identity.Config{
		SessionKeys: [][]byte{advSessionKey},
		Anonymous:   cookie.Config{BindingKeys: [][]byte{advBindingKey}},
		Ledger:      f.ledger,
		Authenticate: func(r *http.Request) (*identity.SessionInfo, error) {
			if r.PostFormValue("password") != advPassword {
				return nil, identity.ErrUnauthenticated
			}
			return &identity.SessionInfo{UserName: "Cade", CustomUserID: "cade-id"}, nil
		},
		AllowedOrigins: []string{advOrigin},
		TrustedOrigins: []string{advTrustedOrigin},
		Logger:         f.logs.Logger(),
	}
	for _, e := range edit {
		e(&cfg)
	}
	if cfg.SigningKeys == nil {
		cfg.SigningKeys = []identity.SigningKey{{Key: rsaKey(t, keyA)}} // newServer's default, made explicit
	}
	f.srv = newServer(t, cfg)
	f.h = f.srv.Handler()
	f.secrets = append(f.secrets, advPassword, string(advSessionKey), hex.EncodeToString(advSessionKey),
		base64.StdEncoding.EncodeToString(advSessionKey), string(advBindingKey), hex.EncodeToString(advBindingKey))
	for _, k := range cfg.SigningKeys {
		if k, ok := k.Key.(*rsa.PrivateKey); ok { // the private exponent and a prime, as %v or %x would print them
			f.secrets = append(f.secrets, k.D.String(), k.D.Text(16), k.Primes[0].String())
		}
	}
	return f
}

// req builds a request to the handler; hdr are name, value pairs.
func (f *advFixture) req(method, target string, body string, cookies []*http.Cookie, hdr ...string) *http.Request {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, "http://example.com"+target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, "http://example.com"+target, nil)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	for _, c := range cookies {
		r.AddCookie(c)
		f.secrets = append(f.secrets, c.Value)
	}
	return r
}

// serve runs r and remembers every cookie value and token it answered with.
func (f *advFixture) serve(r *http.Request) *httptest.ResponseRecorder {
	f.t.Helper()
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	for _, c := range rec.Result().Cookies() {
		if c.Value != "" {
			f.secrets = append(f.secrets, c.Value)
		}
	}
	if rec.Code == http.StatusOK && strings.HasPrefix(rec.Body.String(), "eyJ") {
		f.secrets = append(f.secrets, rec.Body.String())
	}
	return rec
}

// anon returns a genuine bound anonymous-ID cookie and the ID in it.
func (f *advFixture) anon() (*http.Cookie, string) {
	f.t.Helper()
	rec := f.serve(f.req("GET", "/createJWT", "", nil))
	c := cookieNamed(f.t, rec, cookie.DefaultName)
	id, _, _ := strings.Cut(c.Value, ".")
	return c, id
}

// login returns a genuine session cookie for Cade, logged in with anon.
func (f *advFixture) login(anon *http.Cookie) *http.Cookie {
	f.t.Helper()
	rec := f.serve(f.req("POST", "/authenticate", "password="+advPassword, []*http.Cookie{anon}, "Sec-Fetch-Site", "same-origin"))
	if rec.Code != http.StatusNoContent {
		f.t.Fatalf("login: got %d, want 204", rec.Code)
	}
	return cookieNamed(f.t, rec, identity.DefaultSessionCookie)
}

// token asks for a token with the given cookies and returns its sub and
// user_payload; it fails the test unless the answer is a valid token.
func (f *advFixture) token(cookies ...*http.Cookie) (sub string, user map[string]any, rec *httptest.ResponseRecorder) {
	f.t.Helper()
	rec = f.serve(f.req("GET", "/createJWT", "", cookies))
	if rec.Code != http.StatusOK {
		f.t.Fatalf("GET /createJWT: got %d (%s), want 200", rec.Code, rec.Body.String())
	}
	tok := verifyWithJWKS(f.t, f.h, rec.Body.String())
	return tok.Subject(), payload(f.t, tok), rec
}

// loggedIn reports whether a token for these cookies carries Cade.
func (f *advFixture) loggedIn(cookies ...*http.Cookie) bool {
	f.t.Helper()
	_, user, _ := f.token(cookies...)
	return user["custom_user_id"] == "cade-id"
}

func cookieNamed(t *testing.T, rec *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in the response (status %d)", name, rec.Code)
	return nil
}

func flipByte(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// sealWith seals the session cookie contents JSON as another server would:
// a different key, name or clock.
func sealWith(t *testing.T, key []byte, name string, now time.Time, contents string) string {
	t.Helper()
	s, err := cookie.NewSealer(cookie.SealerConfig{Name: name, Keys: [][]byte{key}, Now: fixedClock(now)})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Seal([]byte(contents))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantStatus(t *testing.T, rec *httptest.ResponseRecorder, want int) {
	t.Helper()
	if rec.Code != want {
		t.Errorf("got status %d (%q), want %d", rec.Code, rec.Body.String(), want)
	}
}

func wantNoCORS(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods"} {
		if v := rec.Header().Get(h); v != "" {
			t.Errorf("got %s: %q, want none", h, v)
		}
	}
}

func TestAdversarial(t *testing.T) {
	const cadeJSON = `{"n":"Cade","u":"cade-id"}`
	preflight := func(f *advFixture, origin string) *httptest.ResponseRecorder {
		return f.serve(f.req("OPTIONS", "/createJWT", "", nil, "Origin", origin, "Access-Control-Request-Method", "POST"))
	}
	rows := []struct {
		name string
		cfg  func(*identity.Config)
		run  func(t *testing.T, f *advFixture)
	}{
		// Sessions: only a cookie this server sealed, unexpired, under its
		// own name, logs anyone in.
		{"a genuine session cookie logs in (control)", nil, func(t *testing.T, f *advFixture) {
			anon, _ := f.anon()
			if !f.loggedIn(anon, f.login(anon)) {
				t.Error("a genuine session is not logged in")
			}
		}},
		{"a session cookie in IBM's sample format (plain JSON) is anonymous", nil, func(t *testing.T, f *advFixture) {
			forged := &http.Cookie{Name: identity.DefaultSessionCookie, Value: url.QueryEscape(`{"userName":"Cade","customUserId":"cade-id"}`)}
			if f.loggedIn(forged) {
				t.Error("a forged JSON session logged in")
			}
		}},
		{"a random session cookie is anonymous", nil, func(t *testing.T, f *advFixture) {
			forged := &http.Cookie{Name: identity.DefaultSessionCookie, Value: base64.RawURLEncoding.EncodeToString(make([]byte, 96))}
			if f.loggedIn(forged) {
				t.Error("a random session cookie logged in")
			}
		}},
		{"a session cookie with one byte flipped is anonymous", nil, func(t *testing.T, f *advFixture) {
			anon, _ := f.anon()
			s := f.login(anon)
			for _, i := range []int{0, len(s.Value) / 2, len(s.Value) - 1} {
				if f.loggedIn(anon, &http.Cookie{Name: s.Name, Value: flipByte(s.Value, i)}) {
					t.Errorf("flipping byte %d kept the session", i)
				}
			}
		}},
		{"a truncated session cookie is anonymous", nil, func(t *testing.T, f *advFixture) {
			anon, _ := f.anon()
			s := f.login(anon)
			for _, n := range []int{1, 16, len(s.Value) - 1} {
				if f.loggedIn(anon, &http.Cookie{Name: s.Name, Value: s.Value[:n]}) {
					t.Errorf("a session cut to %d bytes logged in", n)
				}
			}
		}},
		{"an expired session cookie is anonymous", nil, func(t *testing.T, f *advFixture) {
			old := sealWith(t, advSessionKey, identity.DefaultSessionCookie, fixedNow.Add(-48*time.Hour), cadeJSON)
			if f.loggedIn(&http.Cookie{Name: identity.DefaultSessionCookie, Value: old}) {
				t.Error("a session sealed 48 h ago (MaxAge 24 h) logged in")
			}
		}},
		{"a session sealed with a foreign key is anonymous", nil, func(t *testing.T, f *advFixture) {
			foreign := sealWith(t, secretKey(0x99), identity.DefaultSessionCookie, fixedNow, cadeJSON)
			if f.loggedIn(&http.Cookie{Name: identity.DefaultSessionCookie, Value: foreign}) {
				t.Error("a session sealed with another key logged in")
			}
		}},
		{"a value sealed for another cookie name is anonymous", nil, func(t *testing.T, f *advFixture) {
			moved := sealWith(t, advSessionKey, "OTHER-COOKIE", fixedNow, cadeJSON)
			if f.loggedIn(&http.Cookie{Name: identity.DefaultSessionCookie, Value: moved}) {
				t.Error("a value sealed for OTHER-COOKIE logged in as the session")
			}
		}},
		{"a sealed session without a user ID is anonymous", nil, func(t *testing.T, f *advFixture) {
			v := sealWith(t, advSessionKey, identity.DefaultSessionCookie, fixedNow, `{"n":"Cade"}`)
			if _, user, _ := f.token(&http.Cookie{Name: identity.DefaultSessionCookie, Value: v}); user["name"] == "Cade" {
				t.Error("a session without custom_user_id was used")
			}
		}},
		{"a sealed session with a reserved Extra key is anonymous", nil, func(t *testing.T, f *advFixture) {
			v := sealWith(t, advSessionKey, identity.DefaultSessionCookie, fixedNow, `{"n":"Cade","u":"cade-id","x":{"custom_user_id":"root"}}`)
			_, user, _ := f.token(&http.Cookie{Name: identity.DefaultSessionCookie, Value: v})
			if user["custom_user_id"] == "root" || user["custom_user_id"] == "cade-id" {
				t.Errorf("a session with a reserved Extra key was used: %v", user)
			}
		}},
		{"an oversized session cookie is anonymous, not a 500", nil, func(t *testing.T, f *advFixture) {
			if f.loggedIn(&http.Cookie{Name: identity.DefaultSessionCookie, Value: strings.Repeat("A", 8000)}) {
				t.Error("an 8000-byte session cookie logged in")
			}
		}},
		{"logout clears the session cookie", nil, func(t *testing.T, f *advFixture) {
			anon, _ := f.anon()
			s := f.login(anon)
			rec := f.serve(f.req("POST", "/logout", "", []*http.Cookie{anon, s}, "Sec-Fetch-Site", "same-origin"))
			wantStatus(t, rec, http.StatusNoContent)
			if c := cookieNamed(t, rec, identity.DefaultSessionCookie); c.MaxAge >= 0 || c.Value != "" {
				t.Errorf("logout set %s=%q Max-Age=%d, want it deleted", c.Name, c.Value, c.MaxAge)
			}
		}},
		// Replay after logout: a copy of the session cookie taken before
		// /logout (a shared computer, a proxy log) is refused with a
		// Config.Revoker, and, by the documented limit of cookie-only
		// sessions, still logs in without one until it expires.
		{"a session cookie replayed after logout is refused with a Revoker", func(c *identity.Config) { c.Revoker = memrevoke.New() }, func(t *testing.T, f *advFixture) {
			anon, _ := f.anon()
			s := f.login(anon)
			if !f.loggedIn(anon, s) {
				t.Fatal("before logout: the session cookie does not log in")
			}
			wantStatus(t, f.serve(f.req("POST", "/logout", "", []*http.Cookie{anon, s}, "Sec-Fetch-Site", "same-origin")), http.StatusNoContent)
			if f.loggedIn(anon, s) {
				t.Error("the session cookie copied before logout still logs in")
			}
			if got := strings.TrimSpace(f.serve(f.req("GET", "/session", "", []*http.Cookie{s})).Body.String()); got != `{"logged_in":false}` {
				t.Errorf("GET /session with the copied cookie: got %s, want logged out", got)
			}
			if !f.loggedIn(anon, f.login(anon)) {
				t.Error("a new login after the logout does not log in")
			}
		}},
		{"without a Revoker a session cookie replayed after logout still logs in (documented)", nil, func(t *testing.T, f *advFixture) {
			anon, _ := f.anon()
			s := f.login(anon)
			wantStatus(t, f.serve(f.req("POST", "/logout", "", []*http.Cookie{anon, s}, "Sec-Fetch-Site", "same-origin")), http.StatusNoContent)
			if !f.loggedIn(anon, s) {
				t.Error("the copied session cookie no longer logs in: the README, SECURITY.md and Config.Revoker's doc say it does until it expires")
			}
		}},
		{"a failed login does not log in", nil, func(t *testing.T, f *advFixture) {
			anon, _ := f.anon()
			rec := f.serve(f.req("POST", "/authenticate", "password=guess", []*http.Cookie{anon}, "Sec-Fetch-Site", "same-origin"))
			wantStatus(t, rec, http.StatusUnauthorized)
			for _, c := range rec.Result().Cookies() {
				if c.Name == identity.DefaultSessionCookie && c.Value != "" {
					t.Error("a failed login set a session cookie")
				}
			}
		}},
		{"credentials in the query string are not read", nil, func(t *testing.T, f *advFixture) {
			anon, _ := f.anon()
			rec := f.serve(f.req("POST", "/authenticate?password="+advPassword, "", []*http.Cookie{anon}, "Sec-Fetch-Site", "same-origin"))
			wantStatus(t, rec, http.StatusUnauthorized)
		}},
		{"a login renews the session cookie (no fixation)", nil, func(t *testing.T, f *advFixture) {
			anon, _ := f.anon()
			first := f.login(anon)
			rec := f.serve(f.req("POST", "/authenticate", "password="+advPassword, []*http.Cookie{anon, first}, "Sec-Fetch-Site", "same-origin"))
			if second := cookieNamed(t, rec, identity.DefaultSessionCookie); second.Value == first.Value {
				t.Error("a second login kept the same session cookie value")
			}
		}},

		// Anonymous IDs: only an ID this server issued (bound by MAC) becomes
		// a sub; anything else gets a fresh ID and is never echoed.
		{"a genuine anonymous cookie keeps its sub (control)", nil, func(t *testing.T, f *advFixture) {
			anon, id := f.anon()
			if sub, _, _ := f.token(anon); sub != id {
				t.Errorf("got sub %q, want %q", sub, id)
			}
		}},
		{"a made-up well-formed ID is not accepted", nil, func(t *testing.T, f *advFixture) {
			made := "anon-0f8fad5b-d9cb-469f-a165-70867728950e"
			sub, _, _ := f.token(&http.Cookie{Name: cookie.DefaultName, Value: made})
			if sub == made {
				t.Error("an unbound ID the server never issued became the sub")
			}
		}},
		{"someone else's sub without its MAC is not accepted", nil, func(t *testing.T, f *advFixture) {
			_, victim := f.anon() // sub is public: page scripts see every token
			sub, _, _ := f.token(&http.Cookie{Name: cookie.DefaultName, Value: victim})
			if sub == victim {
				t.Error("knowing a sub was enough to take it over")
			}
		}},
		{"someone else's sub with a forged MAC is not accepted", nil, func(t *testing.T, f *advFixture) {
			anon, victim := f.anon()
			_, mac, _ := strings.Cut(anon.Value, ".")
			forged := victim + "." + flipByte(mac, 0)
			if sub, _, _ := f.token(&http.Cookie{Name: cookie.DefaultName, Value: forged}); sub == victim {
				t.Error("a forged MAC was accepted")
			}
		}},
		{"an ID bound under another key is not accepted", nil, func(t *testing.T, f *advFixture) {
			other := newAdvFixture(t, func(c *identity.Config) { c.Anonymous.BindingKeys = [][]byte{secretKey(0x77)} })
			anon, id := other.anon()
			if sub, _, _ := f.token(anon); sub == id {
				t.Error("an ID bound by another site's key was accepted")
			}
		}},
		{"a malformed anonymous ID gets a fresh one, not echoed", nil, func(t *testing.T, f *advFixture) {
			for _, v := range []string{"anon-not-a-uuid", "ANON-0F8FAD5B-D9CB-469F-A165-70867728950E", "root", "anon-{{7*7}}"} {
				sub, _, rec := f.token(&http.Cookie{Name: cookie.DefaultName, Value: v, Quoted: false})
				if sub == v || strings.Contains(rec.Body.String(), v) && v != "root" {
					t.Errorf("malformed %q was echoed", v)
				}
				if !strings.HasPrefix(sub, "anon-") {
					t.Errorf("got sub %q, want a fresh anon- ID", sub)
				}
			}
		}},
		{"an oversized anonymous cookie gets a fresh ID, not a 500", nil, func(t *testing.T, f *advFixture) {
			big := "anon-" + strings.Repeat("a", 5000)
			sub, _, _ := f.token(&http.Cookie{Name: cookie.DefaultName, Value: big})
			if sub == big || len(sub) > 64 {
				t.Errorf("an oversized ID became the sub (%d bytes)", len(sub))
			}
		}},
		{"a duplicate anonymous cookie cannot displace the genuine one", nil, func(t *testing.T, f *advFixture) {
			anon, id := f.anon()
			fake := &http.Cookie{Name: cookie.DefaultName, Value: "anon-0f8fad5b-d9cb-469f-a165-70867728950e"}
			for _, order := range [][]*http.Cookie{{fake, anon}, {anon, fake}} {
				if sub, _, _ := f.token(order...); sub != id {
					t.Errorf("with a tossed duplicate, got sub %q, want the genuine %q", sub, id)
				}
			}
		}},
		{"a made-up ID is never recorded in the ledger", nil, func(t *testing.T, f *advFixture) {
			made := "anon-1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"
			f.token(&http.Cookie{Name: cookie.DefaultName, Value: made})
			if entryFor(t, f.ledger, made) {
				t.Error("the ledger recorded an ID the server never issued")
			}
		}},
		{"an issued ID is recorded, and linked on login (control)", nil, func(t *testing.T, f *advFixture) {
			anon, id := f.anon()
			f.login(anon)
			got, err := f.ledger.Lookup(context.Background(), "cade-id")
			if err != nil || len(got) != 1 || got[0].AnonymousID != id {
				t.Errorf("Lookup(cade-id): got %v, %v; want the one issued ID", got, err)
			}
		}},
		{"someone else's sub is never linked to my account", nil, func(t *testing.T, f *advFixture) {
			_, victim := f.anon()
			mine, _ := f.anon()
			s := f.login(mine)
			// Log in, then present the victim's bare ID (no MAC) beside my session.
			f.serve(f.req("POST", "/authenticate", "password="+advPassword, []*http.Cookie{{Name: cookie.DefaultName, Value: victim}}, "Sec-Fetch-Site", "same-origin"))
			f.token(&http.Cookie{Name: cookie.DefaultName, Value: victim}, s)
			got, _ := f.ledger.Lookup(context.Background(), "cade-id")
			for _, e := range got {
				if e.AnonymousID == victim {
					t.Error("the victim's ID was linked to the attacker's account")
				}
			}
		}},

		// Cross-site requests: state changes need a same-origin (or trusted)
		// request; tokens and sessions go cross-origin only to listed origins.
		{"a cross-site login is refused", nil, func(t *testing.T, f *advFixture) {
			wantStatus(t, f.serve(f.req("POST", "/authenticate", "password="+advPassword, nil, "Sec-Fetch-Site", "cross-site")), http.StatusForbidden)
		}},
		{"a cross-site logout is refused", nil, func(t *testing.T, f *advFixture) {
			wantStatus(t, f.serve(f.req("POST", "/logout", "", nil, "Sec-Fetch-Site", "cross-site")), http.StatusForbidden)
		}},
		{"a same-site but cross-origin logout is refused", nil, func(t *testing.T, f *advFixture) {
			wantStatus(t, f.serve(f.req("POST", "/logout", "", nil, "Sec-Fetch-Site", "same-site")), http.StatusForbidden)
		}},
		{"a login from a foreign Origin (no Sec-Fetch-Site) is refused", nil, func(t *testing.T, f *advFixture) {
			wantStatus(t, f.serve(f.req("POST", "/authenticate", "password="+advPassword, nil, "Origin", "https://evil.example")), http.StatusForbidden)
		}},
		{"a login from Origin null is refused", nil, func(t *testing.T, f *advFixture) {
			wantStatus(t, f.serve(f.req("POST", "/authenticate", "password="+advPassword, nil, "Origin", "null")), http.StatusForbidden)
		}},
		{"a cross-site token POST is refused", nil, func(t *testing.T, f *advFixture) {
			wantStatus(t, f.serve(f.req("POST", "/createJWT", "", nil, "Sec-Fetch-Site", "cross-site")), http.StatusForbidden)
		}},
		{"a login from the trusted origin is accepted, without CORS", nil, func(t *testing.T, f *advFixture) {
			rec := f.serve(f.req("POST", "/authenticate", "password="+advPassword, nil, "Sec-Fetch-Site", "same-site", "Origin", advTrustedOrigin))
			wantStatus(t, rec, http.StatusNoContent)
			wantNoCORS(t, rec)
		}},
		{"TrustedOrigins never grant CORS on GET", nil, func(t *testing.T, f *advFixture) {
			wantNoCORS(t, f.serve(f.req("GET", "/createJWT", "", nil, "Origin", advTrustedOrigin, "Sec-Fetch-Site", "same-site")))
		}},
		{"TrustedOrigins never grant CORS on POST", nil, func(t *testing.T, f *advFixture) {
			wantNoCORS(t, f.serve(f.req("POST", "/createJWT", "", nil, "Origin", advTrustedOrigin, "Sec-Fetch-Site", "same-site")))
		}},
		{"TrustedOrigins never grant CORS on preflight", nil, func(t *testing.T, f *advFixture) {
			wantNoCORS(t, preflight(f, advTrustedOrigin))
		}},
		{"TrustedOrigins alone never grant CORS", func(c *identity.Config) { c.AllowedOrigins = nil }, func(t *testing.T, f *advFixture) {
			wantNoCORS(t, f.serve(f.req("GET", "/createJWT", "", nil, "Origin", advTrustedOrigin, "Sec-Fetch-Site", "same-site")))
			wantNoCORS(t, f.serve(f.req("POST", "/createJWT", "", nil, "Origin", advTrustedOrigin, "Sec-Fetch-Site", "same-site")))
			wantNoCORS(t, preflight(f, advTrustedOrigin))
		}},
		{"a listed origin gets credentialed CORS (control)", nil, func(t *testing.T, f *advFixture) {
			rec := f.serve(f.req("GET", "/createJWT", "", nil, "Origin", advOrigin, "Sec-Fetch-Site", "cross-site"))
			if rec.Header().Get("Access-Control-Allow-Origin") != advOrigin || rec.Header().Get("Access-Control-Allow-Credentials") != "true" {
				t.Errorf("got ACAO %q ACAC %q, want %q and true", rec.Header().Get("Access-Control-Allow-Origin"), rec.Header().Get("Access-Control-Allow-Credentials"), advOrigin)
			}
			if !strings.Contains(strings.Join(rec.Header().Values("Vary"), ","), "Origin") {
				t.Error("a CORS answer does not vary by Origin: a cache could hand it to another origin")
			}
		}},
		{"an unlisted origin gets no CORS", nil, func(t *testing.T, f *advFixture) {
			wantNoCORS(t, f.serve(f.req("GET", "/createJWT", "", nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")))
		}},
		{"a lookalike of a listed origin gets no CORS", nil, func(t *testing.T, f *advFixture) {
			for _, o := range []string{advOrigin + ".evil.example", "https://evilapp.example", advOrigin + ":444", "http://app.example", "null"} {
				wantNoCORS(t, f.serve(f.req("GET", "/createJWT", "", nil, "Origin", o, "Sec-Fetch-Site", "cross-site")))
			}
		}},
		{"a preflight from an unlisted origin grants nothing", nil, func(t *testing.T, f *advFixture) {
			wantNoCORS(t, preflight(f, "https://evil.example"))
		}},

		// Methods and bodies.
		{"wrong methods get 405 with Allow", nil, func(t *testing.T, f *advFixture) {
			for _, mp := range [][2]string{{"PUT", "/createJWT"}, {"DELETE", "/createJWT"}, {"GET", "/authenticate"}, {"GET", "/logout"}, {"POST", "/session"}, {"POST", "/.well-known/jwks.json"}, {"TRACE", "/createJWT"}} {
				rec := f.serve(f.req(mp[0], mp[1], "", nil))
				if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
					t.Errorf("%s %s: got %d Allow %q, want 405 with Allow", mp[0], mp[1], rec.Code, rec.Header().Get("Allow"))
				}
			}
		}},
		{"a method override header does not turn a GET into a logout", nil, func(t *testing.T, f *advFixture) {
			anon, _ := f.anon()
			s := f.login(anon)
			for _, h := range []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"} {
				rec := f.serve(f.req("GET", "/logout", "", []*http.Cookie{s}, h, "POST"))
				wantStatus(t, rec, http.StatusMethodNotAllowed)
			}
			if !f.loggedIn(anon, s) {
				t.Error("the session was ended by a GET")
			}
		}},
		{"an oversized login body gets 413 and no session", nil, func(t *testing.T, f *advFixture) {
			rec := f.serve(f.req("POST", "/authenticate", "password="+advPassword+"&pad="+strings.Repeat("x", 2<<20), nil, "Sec-Fetch-Site", "same-origin"))
			wantStatus(t, rec, http.StatusRequestEntityTooLarge)
			for _, c := range rec.Result().Cookies() {
				if c.Name == identity.DefaultSessionCookie && c.Value != "" {
					t.Error("an oversized login set a session cookie")
				}
			}
		}},

		{"an oversized login body without Content-Length gets 413 and no session", nil, func(t *testing.T, f *advFixture) {
			r := f.req("POST", "/authenticate", "password="+advPassword+"&pad="+strings.Repeat("x", 2<<20), nil, "Sec-Fetch-Site", "same-origin")
			r.ContentLength = -1 // chunked: only reading finds the size out
			rec := f.serve(r)
			wantStatus(t, rec, http.StatusRequestEntityTooLarge)
			for _, c := range rec.Result().Cookies() {
				if c.Name == identity.DefaultSessionCookie && c.Value != "" {
					t.Error("an oversized login set a session cookie")
				}
			}
		}},

		// What the server hands out.
		{"an attacker-sized path is cut in the one-time ContextSessions warning", func(c *identity.Config) {
			c.SessionKeys, c.Authenticate, c.Sessions = nil, nil, identity.ContextSessions{}
		}, func(t *testing.T, f *advFixture) {
			// An app may mount TokenHandler under a prefix pattern, so the
			// path reaching the Server is the client's choice.
			r := f.req("GET", "/createJWT", "", nil)
			r.URL.Path = "/api/" + strings.Repeat("p", 900<<10)
			rec := httptest.NewRecorder()
			f.srv.TokenHandler().ServeHTTP(rec, r)
			wantStatus(t, rec, http.StatusOK)
			logs := f.logs.String()
			if !strings.Contains(logs, "without identity.WithSession") {
				t.Fatalf("no warning about the unmarked request:\n%.500s", logs)
			}
			for _, line := range strings.Split(logs, "\n") {
				if len(line) > 4096 {
					t.Errorf("a log line is %d bytes, want at most 4096: %.200s…", len(line), line)
				}
			}
		}},
		{"token answers are never cached and never sniffed", nil, func(t *testing.T, f *advFixture) {
			_, _, rec := f.token()
			if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("got Cache-Control %q, X-Content-Type-Options %q; want no-store, nosniff", rec.Header().Get("Cache-Control"), rec.Header().Get("X-Content-Type-Options"))
			}
		}},
		{"the anonymous cookie is HttpOnly and SameSite=Lax", nil, func(t *testing.T, f *advFixture) {
			c, _ := f.anon()
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
				t.Errorf("got HttpOnly %v SameSite %v, want HttpOnly, Lax", c.HttpOnly, c.SameSite)
			}
		}},
		{"the session cookie is HttpOnly and SameSite=Lax", nil, func(t *testing.T, f *advFixture) {
			anon, _ := f.anon()
			s := f.login(anon)
			if !s.HttpOnly {
				t.Error("the session cookie is not HttpOnly: an injected script could steal it")
			}
			if s.SameSite != http.SameSiteLaxMode {
				t.Errorf("the session cookie has SameSite %v, want Lax", s.SameSite)
			}
		}},
		{"the JWKS holds public RS256 signing keys only", nil, func(t *testing.T, f *advFixture) {
			rec := f.serve(f.req("GET", "/.well-known/jwks.json", "", nil))
			var doc struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || len(doc.Keys) == 0 {
				t.Fatalf("JWKS: %v, %d keys", err, len(doc.Keys))
			}
			for _, k := range doc.Keys {
				for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
					if _, ok := k[private]; ok {
						t.Errorf("the JWKS publishes the private parameter %q", private)
					}
				}
				if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || k["kid"] == "" {
					t.Errorf("JWKS key %v: want kty RSA, alg RS256, use sig and a kid", k)
				}
			}
		}},
		{"a token's claims do not leak the session's storage or the binding MAC", nil, func(t *testing.T, f *advFixture) {
			anon, _ := f.anon()
			s := f.login(anon)
			_, _, rec := f.token(anon, s)
			tok, err := claims.Verify(rec.Body.String(), f.srv.PublicKeys()[0], claims.WithClock(fixedClock(fixedNow)))
			if err != nil {
				t.Fatal(err)
			}
			_, mac, _ := strings.Cut(anon.Value, ".")
			raw, _ := json.Marshal(tok)
			if strings.Contains(string(raw), mac) || strings.Contains(string(raw), s.Value) {
				t.Error("the token carries the binding MAC or the session cookie")
			}
		}},
	}
	if len(rows) < 50 {
		t.Fatalf("the suite has %d rows; keep at least 50", len(rows))
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			var edits []func(*identity.Config)
			if row.cfg != nil {
				edits = append(edits, row.cfg)
			}
			f := newAdvFixture(t, edits...)
			row.run(t, f)
			logs := f.logs.String()
			for _, s := range f.secrets {
				if len(s) >= 8 && strings.Contains(logs, s) {
					t.Errorf("the log holds a secret value (%d bytes: a token, cookie value, password or key)", len(s))
				}
			}
			if strings.Contains(logs, "eyJ") {
				t.Error("the log holds something that looks like a JWT")
			}
		})
	}
}

func entryFor(t *testing.T, l ledger.Ledger, anonID string) bool {
	t.Helper()
	found := false
	err := l.Export(context.Background(), func(e ledger.Entry) error {
		found = found || e.AnonymousID == anonID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
