package identity_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/internal/logbuf"
)

func TestTokenEndpointIssuesAnonymousToken(t *testing.T) {
	srv := newServer(t, identity.Config{})
	c := newClient(t, srv)
	rec := c.do("GET", "/createJWT")
	if rec.Code != http.StatusOK {
		t.Fatalf("got status %d, want 200", rec.Code)
	}
	for name, want := range map[string]string{
		"Content-Type":           "text/plain; charset=utf-8",
		"Cache-Control":          "no-store",
		"Vary":                   "Cookie",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := rec.Header().Get(name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	anon := c.cookies[cookie.DefaultName]
	if anon == nil || !strings.HasPrefix(anon.Value, "anon-") || !anon.HttpOnly {
		t.Fatalf("got anonymous cookie %+v, want an HttpOnly anon-… cookie", anon)
	}
	tok := verifyWithJWKS(t, srv, rec.Body.String())
	if tok.Subject() != anon.Value {
		t.Errorf("sub: got %q, want the cookie's %q", tok.Subject(), anon.Value)
	}
	jsonEqual(t, payload(t, tok), `{"name":"Anonymous","custom_user_id":"`+anon.Value+`"}`)
	if got, want := tok.Expiration(), fixedNow.Add(time.Hour); !got.Equal(want) {
		t.Errorf("exp: got %v, want %v", got, want)
	}
	if kid := jwsKeyID(t, rec.Body.String()); kid != srv.KeyID() {
		t.Errorf("kid: got %q, want %q", kid, srv.KeyID())
	}

	// A returning visitor keeps the ID, and the cookie is renewed.
	again := c.do("POST", "/createJWT")
	if again.Code != http.StatusOK {
		t.Fatalf("POST /createJWT: got status %d, want 200", again.Code)
	}
	if got := verifyWithJWKS(t, srv, again.Body.String()).Subject(); got != anon.Value {
		t.Errorf("second token's sub: got %q, want %q", got, anon.Value)
	}
	if again.Header().Get("Set-Cookie") == "" {
		t.Error("got no Set-Cookie on a returning visit, want the anonymous cookie renewed")
	}
}

func TestTokenEndpointAnswersJSONWhenPreferred(t *testing.T) {
	srv := newServer(t, identity.Config{})
	tests := []struct {
		accept   string
		wantJSON bool
	}{
		{"", false},
		{"*/*", false},
		{"text/plain", false},
		{"application/json", true},
		{"application/json, text/plain;q=0.5", true},
		{"text/plain, application/json", false},
		{"application/json;q=0", false},
		{"text/*;q=0.1, application/*", true},
	}
	for _, tt := range tests {
		t.Run("Accept "+tt.accept, func(t *testing.T) {
			rec := newClient(t, srv).do("GET", "/createJWT", "Accept", tt.accept)
			if rec.Code != http.StatusOK {
				t.Fatalf("got status %d, want 200", rec.Code)
			}
			ct := rec.Header().Get("Content-Type")
			if !tt.wantJSON {
				if ct != "text/plain; charset=utf-8" {
					t.Fatalf("Content-Type: got %q, want text/plain", ct)
				}
				return
			}
			if ct != "application/json" {
				t.Fatalf("Content-Type: got %q, want application/json", ct)
			}
			var v struct {
				Token     string    `json:"token"`
				ExpiresAt time.Time `json:"expires_at"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			tok := verifyWithJWKS(t, srv, v.Token)
			if !v.ExpiresAt.Equal(tok.Expiration()) {
				t.Errorf("expires_at: got %v, want the token's exp %v", v.ExpiresAt, tok.Expiration())
			}
		})
	}
}

func TestGarbageAnonymousCookieGetsNewID(t *testing.T) {
	srv := newServer(t, identity.Config{})
	for _, garbage := range []string{"not-an-id", "anon-1234", "anon-%0d%0aSet-Cookie", "ANON-6BA7B810-9DAD-11D1-80B4-00C04FD430C8"} {
		t.Run(garbage, func(t *testing.T) {
			c := newClient(t, srv)
			c.cookies[cookie.DefaultName] = &http.Cookie{Name: cookie.DefaultName, Value: garbage}
			tok := c.token()
			if tok.Subject() == garbage || !strings.HasPrefix(tok.Subject(), "anon-") {
				t.Errorf("sub: got %q, want a fresh anon-… ID", tok.Subject())
			}
			if got := c.cookies[cookie.DefaultName].Value; got != tok.Subject() {
				t.Errorf("cookie: got %q, want the new ID %q", got, tok.Subject())
			}
		})
	}
}

func TestLoginKeepsSubAndChangesPayload(t *testing.T) {
	srv := newServer(t, identity.Config{})
	c := newClient(t, srv)
	before := c.token()
	anonID := before.Subject()

	rec := c.do("POST", "/authenticate")
	if rec.Code != http.StatusNoContent {
		t.Fatalf("POST /authenticate: got status %d (%q), want 204", rec.Code, rec.Body.String())
	}
	sess := c.cookies[identity.DefaultSessionCookie]
	if sess == nil || !sess.HttpOnly {
		t.Fatalf("got session cookie %+v, want an HttpOnly %s cookie", sess, identity.DefaultSessionCookie)
	}
	if strings.Contains(sess.Value, "cade") || strings.Contains(sess.Value, "Cade") {
		t.Error("session cookie shows the user in clear, want it sealed")
	}

	after := c.token()
	if after.Subject() != anonID {
		t.Errorf("sub after login: got %q, want the anonymous ID %q", after.Subject(), anonID)
	}
	jsonEqual(t, payload(t, after), `{"name":"Cade","custom_user_id":"cade-id"}`)

	// A second login writes a fresh session value (no fixation).
	c.do("POST", "/authenticate")
	if c.cookies[identity.DefaultSessionCookie].Value == sess.Value {
		t.Error("second login kept the session cookie value, want a fresh one")
	}

	if rec := c.do("POST", "/logout"); rec.Code != http.StatusNoContent {
		t.Fatalf("POST /logout: got status %d, want 204", rec.Code)
	}
	if _, ok := c.cookies[identity.DefaultSessionCookie]; ok {
		t.Error("session cookie survived logout")
	}
	out := c.token()
	if out.Subject() != anonID {
		t.Errorf("sub after logout: got %q, want %q", out.Subject(), anonID)
	}
	jsonEqual(t, payload(t, out), `{"name":"Anonymous","custom_user_id":"`+anonID+`"}`)
}

func TestUntrustedSessionCookieIsAnonymous(t *testing.T) {
	srv := newServer(t, identity.Config{})
	// The same cookie name sealed with another key: a foreign site's or an
	// old deployment's cookie.
	foreign, err := identity.NewCookieSessions(cookie.SealerConfig{Keys: [][]byte{secretKey(9)}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := foreign.Login(rec, httptest.NewRequest("POST", "/", nil), &identity.SessionInfo{UserName: "Mallory", CustomUserID: "admin"}); err != nil {
		t.Fatal(err)
	}
	foreignValue := rec.Result().Cookies()[0].Value

	logged := newClient(t, srv)
	logged.do("POST", "/authenticate")
	genuine := logged.cookies[identity.DefaultSessionCookie].Value
	tampered := []byte(genuine)
	tampered[len(tampered)/2] ^= 1

	tests := map[string]string{
		"tampered":          string(tampered),
		"foreign key":       foreignValue,
		"base64 JSON":       "eyJ1IjoiYWRtaW4iLCJuIjoiTWFsbG9yeSJ9",
		"tutorial-style":    `%7B%22userName%22%3A%22Cade%22%7D`,
		"empty":             "",
		"truncated genuine": genuine[:len(genuine)-4],
	}
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			logs := &logbuf.Buffer{}
			srv := newServer(t, identity.Config{Logger: logs.Logger()})
			c := newClient(t, srv)
			c.cookies[identity.DefaultSessionCookie] = &http.Cookie{Name: identity.DefaultSessionCookie, Value: value}
			tok := c.token()
			jsonEqual(t, payload(t, tok), `{"name":"Anonymous","custom_user_id":"`+tok.Subject()+`"}`)
			if value != "" && strings.Contains(logs.String(), value) {
				t.Error("the log contains the session cookie's value")
			}
		})
	}
}

func TestAuthenticateErrors(t *testing.T) {
	failing := func(*http.Request) (*identity.SessionInfo, error) { return nil, errTest }
	noUser := func(*http.Request) (*identity.SessionInfo, error) { return nil, nil }
	reserved := func(*http.Request) (*identity.SessionInfo, error) {
		return &identity.SessionInfo{CustomUserID: "u", Extra: map[string]any{"name": "x"}}, nil
	}
	tests := []struct {
		name       string
		auth       func(*http.Request) (*identity.SessionInfo, error)
		hdr        []string
		wantStatus int
		wantBody   string
	}{
		{"wrong credentials are 401", cadeLogin, []string{"X-Password", "wrong"}, 401, "authentication failed"},
		{"wrong credentials in JSON are RFC 6749 shaped", cadeLogin, []string{"X-Password", "wrong", "Accept", "application/json"}, 401,
			`{"error":"access_denied","error_description":"authentication failed"}`},
		{"nil session is 401", noUser, nil, 401, "authentication failed"},
		{"a failing Authenticate is 500", failing, nil, 500, "internal error"},
		{"a failing Authenticate in JSON", failing, []string{"Accept", "application/json"}, 500,
			`{"error":"server_error","error_description":"internal error"}`},
		{"reserved Extra key is 500", reserved, nil, 500, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logbuf.Buffer{}
			srv := newServer(t, identity.Config{Authenticate: tt.auth, Logger: logs.Logger()})
			c := newClient(t, srv)
			rec := c.do("POST", "/authenticate", tt.hdr...)
			if rec.Code != tt.wantStatus || strings.TrimSpace(rec.Body.String()) != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
			}
			if _, ok := c.cookies[identity.DefaultSessionCookie]; ok {
				t.Error("a refused login set a session cookie")
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Error("error answer without Cache-Control: no-store")
			}
			if !strings.Contains(logs.String(), "identity: request failed") {
				t.Errorf("got log %q, want the failure logged", logs.String())
			}
		})
	}
}

func TestAuthenticateBodyIsLimited(t *testing.T) {
	readAll := func(r *http.Request) (*identity.SessionInfo, error) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return nil, err
		}
		return &identity.SessionInfo{CustomUserID: "u"}, nil
	}
	srv := newServer(t, identity.Config{Authenticate: readAll})
	req := httptest.NewRequest("POST", "/authenticate", strings.NewReader(strings.Repeat("x", 2<<20)))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB login body: got status %d, want 413", rec.Code)
	}
}

func TestCrossOriginStateChangesAreRefused(t *testing.T) {
	srv := newServer(t, identity.Config{TrustedOrigins: []string{"https://login.example.com"}})
	tests := []struct {
		name       string
		path       string
		hdr        []string
		wantStatus int
	}{
		{"cross-site login", "/authenticate", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"cross-site logout", "/logout", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site but cross-origin logout", "/logout", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"old browser, foreign Origin", "/authenticate", []string{"Origin", "https://evil.example"}, 403},
		{"cross-site token POST", "/createJWT", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"same-origin login", "/authenticate", []string{"Sec-Fetch-Site", "same-origin"}, 204},
		{"Origin matching Host", "/authenticate", []string{"Origin", "http://example.com"}, 204},
		{"trusted origin", "/authenticate", []string{"Sec-Fetch-Site", "same-site", "Origin", "https://login.example.com"}, 204},
		{"non-browser client", "/logout", nil, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, srv)
			rec := c.do("POST", tt.path, tt.hdr...)
			if rec.Code != tt.wantStatus {
				t.Fatalf("got status %d (%q), want %d", rec.Code, rec.Body.String(), tt.wantStatus)
			}
			if rec.Code == 403 {
				if _, ok := c.cookies[identity.DefaultSessionCookie]; ok {
					t.Error("a refused request set a session cookie")
				}
				if got := strings.TrimSpace(rec.Body.String()); got != "cross-origin request refused" {
					t.Errorf("body: got %q, want the short fixed text", got)
				}
			}
		})
	}
	// The standalone handlers carry the same protection.
	for name, h := range map[string]http.Handler{"AuthenticateHandler": srv.AuthenticateHandler(), "LogoutHandler": srv.LogoutHandler()} {
		rec := newClient(t, h).do("POST", "/", "Sec-Fetch-Site", "cross-site")
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s: got status %d, want 403", name, rec.Code)
		}
	}
}

func TestCORS(t *testing.T) {
	const app = "https://app.example.com"
	srv := newServer(t, identity.Config{AllowedOrigins: []string{"HTTPS://App.Example.com:443"}})
	tests := []struct {
		name       string
		method     string
		path       string
		hdr        []string
		wantStatus int
		wantACAO   string
	}{
		{"listed origin gets credentialed CORS", "GET", "/createJWT", []string{"Origin", app, "Sec-Fetch-Site", "cross-site"}, 200, app},
		{"unlisted origin gets none", "GET", "/createJWT", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 200, ""},
		{"lookalike origin gets none", "GET", "/createJWT", []string{"Origin", "https://app.example.com.evil.example"}, 200, ""},
		{"http version of a listed origin gets none", "GET", "/createJWT", []string{"Origin", "http://app.example.com"}, 200, ""},
		{"preflight from listed origin", "OPTIONS", "/authenticate", []string{"Origin", app, "Access-Control-Request-Method", "POST"}, 204, app},
		{"preflight from unlisted origin", "OPTIONS", "/authenticate", []string{"Origin", "https://evil.example", "Access-Control-Request-Method", "POST"}, 403, ""},
		{"listed origin may log in cross-origin", "POST", "/authenticate", []string{"Origin", app, "Sec-Fetch-Site", "cross-site"}, 204, app},
		{"unlisted origin may not", "POST", "/authenticate", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newClient(t, srv).do(tt.method, tt.path, tt.hdr...)
			if rec.Code != tt.wantStatus {
				t.Fatalf("got status %d, want %d", rec.Code, tt.wantStatus)
			}
			h := rec.Header()
			if got := h.Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Errorf("Access-Control-Allow-Origin: got %q, want %q", got, tt.wantACAO)
			}
			wantCred := ""
			if tt.wantACAO != "" {
				wantCred = "true"
			}
			if got := h.Get("Access-Control-Allow-Credentials"); got != wantCred {
				t.Errorf("Access-Control-Allow-Credentials: got %q, want %q", got, wantCred)
			}
			if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary: got %q, want Origin in it", h.Values("Vary"))
			}
			if tt.method == "OPTIONS" && tt.wantACAO != "" && h.Get("Access-Control-Allow-Methods") != "POST" {
				t.Errorf("Access-Control-Allow-Methods: got %q, want POST", h.Get("Access-Control-Allow-Methods"))
			}
		})
	}

	// Without AllowedOrigins, CORS is off: no preflight route at all.
	plain := newServer(t, identity.Config{})
	rec := newClient(t, plain).do("OPTIONS", "/createJWT", "Origin", app, "Access-Control-Request-Method", "GET")
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("OPTIONS without CORS: got %d with ACAO %q, want 405 without ACAO", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
	}
}

func TestWrongMethodsGet405WithAllow(t *testing.T) {
	srv := newServer(t, identity.Config{})
	tests := []struct {
		h         http.Handler
		method    string
		path      string
		wantAllow string
	}{
		{srv, "PUT", "/createJWT", "GET, HEAD, POST"},
		{srv, "GET", "/authenticate", "POST"},
		{srv, "GET", "/logout", "POST"},
		{srv, "POST", "/.well-known/jwks.json", "GET, HEAD"},
		{srv, "POST", "/session", "GET, HEAD"},
		// Standalone handlers mounted without a method pattern check too:
		// a GET must never log anyone in.
		{srv.AuthenticateHandler(), "GET", "/", "POST"},
		{srv.LogoutHandler(), "GET", "/", "POST"},
		{srv.TokenHandler(), "DELETE", "/", "GET, HEAD, POST"},
		{srv.JWKSHandler(), "POST", "/", "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			c := newClient(t, tt.h)
			rec := c.do(tt.method, tt.path)
			if rec.Code != http.StatusMethodNotAllowed {
				t.Fatalf("got status %d, want 405", rec.Code)
			}
			if got := rec.Header().Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow: got %q, want %q", got, tt.wantAllow)
			}
			if len(c.cookies) != 0 {
				t.Errorf("a refused method set cookies %v", c.cookies)
			}
		})
	}
}

func TestAuthenticateNeedsConfig(t *testing.T) {
	srv, err := identity.New(identity.Config{
		SigningKeys: []identity.SigningKey{{Key: rsaKey(t, keyA)}},
		Logger:      discardLogger(),
		Now:         fixedClock(fixedNow),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/authenticate", "/logout"} {
		if rec := newClient(t, srv).do("POST", path); rec.Code != http.StatusNotFound {
			t.Errorf("POST %s without sessions: got status %d, want 404", path, rec.Code)
		}
	}
	if rec := newClient(t, srv.AuthenticateHandler()).do("POST", "/"); rec.Code != http.StatusNotFound {
		t.Errorf("AuthenticateHandler without Config.Authenticate: got status %d, want 404", rec.Code)
	}
	// Tokens still work, for everyone anonymously.
	tok := newClient(t, srv).token()
	jsonEqual(t, payload(t, tok), `{"name":"Anonymous","custom_user_id":"`+tok.Subject()+`"}`)
	if rec := newClient(t, srv).do("GET", "/session"); strings.TrimSpace(rec.Body.String()) != `{"logged_in":false}` {
		t.Errorf("GET /session: got %q", rec.Body.String())
	}
}

func TestSessionEndpoint(t *testing.T) {
	srv := newServer(t, identity.Config{})
	c := newClient(t, srv)
	check := func(want string) {
		t.Helper()
		rec := c.do("GET", "/session")
		if rec.Code != http.StatusOK || rec.Body.String() != want {
			t.Errorf("GET /session: got %d %q, want 200 %q", rec.Code, rec.Body.String(), want)
		}
		if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("GET /session headers: got %v", rec.Header())
		}
	}
	check(`{"logged_in":false}`)
	c.do("POST", "/authenticate")
	check(`{"logged_in":true,"name":"Cade"}`)
	c.do("POST", "/logout")
	check(`{"logged_in":false}`)
}

func TestJWKSEndpoint(t *testing.T) {
	srv := newServer(t, identity.Config{SigningKeys: []identity.SigningKey{
		{Key: rsaKey(t, keyB), KeyID: "2026-11"},
		{Key: rsaKey(t, keyA)},
	}})
	rec := newClient(t, srv).do("GET", "/.well-known/jwks.json")
	if rec.Code != http.StatusOK {
		t.Fatalf("got status %d, want 200", rec.Code)
	}
	if got := rec.Header().Get("Cache-Control"); got != "public, max-age=300" {
		t.Errorf("Cache-Control: got %q", got)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type: got %q", got)
	}
	if strings.Contains(rec.Body.String(), `"d"`) {
		t.Fatal("the JWKS contains a private exponent")
	}
	set := fetchJWKS(t, srv)
	if set.Len() != 2 {
		t.Fatalf("got %d keys, want 2 (active and verify-only)", set.Len())
	}
	thumb, err := identityKeyID(rsaKey(t, keyA))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"2026-11", thumb} {
		k, _ := set.Key(i)
		if k.KeyID() != want || k.Algorithm().String() != "RS256" || k.KeyUsage() != "sig" {
			t.Errorf("key %d: got kid %q alg %v use %q, want kid %q RS256 sig", i, k.KeyID(), k.Algorithm(), k.KeyUsage(), want)
		}
	}
	if srv.KeyID() != "2026-11" {
		t.Errorf("KeyID: got %q, want the first key's", srv.KeyID())
	}
	if n := len(srv.PublicKeys()); n != 2 {
		t.Errorf("PublicKeys: got %d keys, want 2", n)
	}
}

func TestHandlerServesTheScript(t *testing.T) {
	srv := newServer(t, identity.Config{})
	rec := newClient(t, srv).do("GET", "/webchatid.js")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
		t.Errorf("GET /webchatid.js: got %d %q, want 200 text/javascript", rec.Code, rec.Header().Get("Content-Type"))
	}
}
