package identity_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/internal/logbuf"
)

// Tests of the fixes of issue 10 ("Hardening"), one per finding; the
// adversarial suite refers to them by name.

// TestLogLinesTruncateRequestValues: a cross-origin denial carrying a 900 KB
// Origin (and Sec-Fetch-Site, method and path) must not produce a 900 KB log
// line.
func TestLogLinesTruncateRequestValues(t *testing.T) {
	var logs logbuf.Buffer
	srv := newServer(t, identity.Config{Logger: logs.Logger()})
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
		var logs logbuf.Buffer
		newServer(t, identity.Config{Logger: logs.Logger(), Anonymous: cookie.Config{MaxAge: tc.maxAge}})
		if got := strings.Contains(logs.String(), "Config.Anonymous.MaxAge"); got != tc.warn {
			t.Errorf("MaxAge %v: warned = %v, want %v\n%s", tc.maxAge, got, tc.warn, logs.String())
		}
	}
}

// TestCookieSessionsLogToConfigLogger: a CookieSessions made with
// NewCookieSessions and given as Config.Sessions logs to Config.Logger, not
// to slog.Default.
func TestCookieSessionsLogToConfigLogger(t *testing.T) {
	cs, err := identity.NewCookieSessions(cookie.SealerConfig{Keys: [][]byte{secretKey(7)}})
	if err != nil {
		t.Fatal(err)
	}
	var logs logbuf.Buffer
	srv := newServer(t, identity.Config{Sessions: cs, Logger: logs.Logger()})
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
	shared := secretKey(9)
	for _, tc := range []struct {
		name    string
		binding [][]byte
		session [][]byte
	}{
		{"first keys", [][]byte{shared}, [][]byte{shared}},
		{"older keys", [][]byte{secretKey(2), shared}, [][]byte{secretKey(3), shared}},
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
		SessionKeys: [][]byte{secretKey(2)},
		Anonymous:   cookie.Config{BindingKeys: [][]byte{secretKey(3)}},
		Logger:      discardLogger(),
	}); err != nil {
		t.Errorf("distinct keys: %v", err)
	}
}

// do sends one request to h, over TLS when the target is https, with the
// given raw Cookie header.
func do(h http.Handler, method, target, cookieHeader string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	if cookieHeader != "" {
		req.Header.Set("Cookie", cookieHeader)
	}
	if method == "POST" {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// setCookie returns the cookie called name that rec sets, or nil.
func setCookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name && c.MaxAge >= 0 {
			return c
		}
	}
	return nil
}

// TestOneSecureSettingGovernsBothCookies: behind a TLS-terminating proxy
// (r.TLS is nil) Anonymous.Secure = SecureAlways makes the session cookie
// Secure too; SessionCookie.Secure can still say otherwise.
func TestOneSecureSettingGovernsBothCookies(t *testing.T) {
	srv := newServer(t, identity.Config{Anonymous: cookie.Config{Secure: cookie.SecureAlways}})
	rec := do(srv, "POST", "http://example.com/authenticate", "")
	if rec.Code != http.StatusNoContent {
		t.Fatalf("login: got %d, want 204", rec.Code)
	}
	cs := rec.Result().Cookies()
	if len(cs) == 0 {
		t.Fatal("no session cookie")
	}
	for _, c := range cs {
		if c.MaxAge >= 0 && !c.Secure {
			t.Errorf("cookie %s is not Secure behind the proxy", c.Name)
		}
	}
	srv = newServer(t, identity.Config{
		Anonymous:     cookie.Config{Secure: cookie.SecureAlways},
		SessionCookie: cookie.SealerConfig{Name: "APP-SESSION", Secure: cookie.SecureNever},
	})
	rec = do(srv, "POST", "http://example.com/authenticate", "")
	if c := setCookie(rec, "APP-SESSION"); c == nil || c.Secure {
		t.Errorf("SessionCookie.Secure = SecureNever: got %+v, want a cookie APP-SESSION without Secure", c)
	}
}

// TestSessionCookieNameIsHostPrefixedOverTLSAndConfigurable: with
// SessionKeys the session cookie is __Host-WEBCHATID-SESSION over TLS,
// WEBCHATID-SESSION over plain HTTP, and SessionCookie.Name renames it.
func TestSessionCookieNameIsHostPrefixedOverTLSAndConfigurable(t *testing.T) {
	srv := newServer(t, identity.Config{})
	if c := setCookie(do(srv, "POST", "https://example.com/authenticate", ""), "__Host-"+identity.DefaultSessionCookie); c == nil || !c.Secure || c.Path != "/" || c.Domain != "" {
		t.Errorf("TLS login: got %+v, want a __Host- session cookie", c)
	}
	if c := setCookie(do(srv, "POST", "http://example.com/authenticate", ""), identity.DefaultSessionCookie); c == nil {
		t.Error("plain HTTP login: no WEBCHATID-SESSION cookie")
	}
	srv = newServer(t, identity.Config{SessionCookie: cookie.SealerConfig{Name: "__Host-APP"}})
	if c := setCookie(do(srv, "POST", "https://example.com/authenticate", ""), "__Host-APP"); c == nil {
		t.Error("SessionCookie.Name is not used")
	}
	if _, err := identity.New(identity.Config{
		SigningKeys:   []identity.SigningKey{{Key: rsaKey(t, keyA)}},
		SessionCookie: cookie.SealerConfig{Name: "X"},
		Logger:        discardLogger(),
	}); err == nil || !strings.Contains(err.Error(), "Config.SessionCookie") {
		t.Errorf("SessionCookie without SessionKeys: got %v, want an error naming it", err)
	}
}

// TestTossedSessionCookieIsIgnoredOverTLS: a session cookie under the
// unprefixed name (which a sibling subdomain can set for the whole site)
// neither logs a visitor in over TLS nor overrides the visitor's own login,
// whatever the order of the Cookie header.
func TestTossedSessionCookieIsIgnoredOverTLS(t *testing.T) {
	var who string
	srv := newServer(t, identity.Config{
		SessionKeys: [][]byte{secretKey(1)},
		Authenticate: func(r *http.Request) (*identity.SessionInfo, error) {
			return &identity.SessionInfo{UserName: who, CustomUserID: who + "-id"}, nil
		},
	})
	who = "mallory" // logs in over plain HTTP: a cookie under the plain name
	mallory := setCookie(do(srv, "POST", "http://example.com/authenticate", ""), identity.DefaultSessionCookie)
	who = "cade"
	cade := setCookie(do(srv, "POST", "https://example.com/authenticate", ""), "__Host-"+identity.DefaultSessionCookie)
	if mallory == nil || cade == nil {
		t.Fatal("logins set no cookies")
	}
	tossed := mallory.Name + "=" + mallory.Value
	own := cade.Name + "=" + cade.Value
	for _, tc := range []struct{ hdr, want string }{
		{tossed, `{"logged_in":false}`},
		{tossed + "; " + own, `{"logged_in":true,"name":"cade"}`},
		{own + "; " + tossed, `{"logged_in":true,"name":"cade"}`},
	} {
		rec := do(srv, "GET", "https://example.com/session", tc.hdr)
		if got := strings.TrimSpace(rec.Body.String()); got != tc.want {
			t.Errorf("Cookie: %.60s…\ngot %s, want %s", tc.hdr, got, tc.want)
		}
	}
}

// TestLogoutExpiresTossedCookies: logout deletes the session cookie under
// its __Host- name and, for what a sibling subdomain could have set, the
// unprefixed session name host-only and for each parent domain, and the
// unprefixed anonymous-ID name for each parent domain (the visitor's own
// anonymous ID stays).
func TestLogoutExpiresTossedCookies(t *testing.T) {
	srv := newServer(t, identity.Config{})
	rec := do(srv, "POST", "https://chat.example.com/logout", "")
	if rec.Code != http.StatusNoContent {
		t.Fatalf("logout: got %d", rec.Code)
	}
	deleted := map[string]bool{}
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			deleted[c.Name+"@"+c.Domain] = true
		}
	}
	for _, want := range []string{
		"__Host-" + identity.DefaultSessionCookie + "@",
		identity.DefaultSessionCookie + "@",
		identity.DefaultSessionCookie + "@chat.example.com",
		identity.DefaultSessionCookie + "@example.com",
		// An anonymous ID tossed in for the whole site would be adopted
		// by this browser if its __Host- cookie went missing.
		cookie.DefaultName + "@chat.example.com",
		cookie.DefaultName + "@example.com",
	} {
		if !deleted[want] {
			t.Errorf("logout does not delete %s; deleted %v", want, deleted)
		}
	}
}

// bindingKey is the anonymous-ID binding key of the ledger tests: never use
// such a key outside tests.
var bindingKey = secretKey(0xb1)

const madeUpID = "anon-12345678-1234-4234-8234-123456789abc"

// TestNewRefusesLedgerWithoutBinding: without BindingKeys anyone can present
// any ID, so a Ledger needs them, or an explicit opt-out; the error says how
// to fix it.
func TestNewRefusesLedgerWithoutBinding(t *testing.T) {
	base := identity.Config{SigningKeys: []identity.SigningKey{{Key: rsaKey(t, keyA)}}, Logger: discardLogger(), Ledger: &fakeLedger{}}
	_, err := identity.New(base)
	if err == nil || !strings.Contains(err.Error(), "Config.Ledger") || !strings.Contains(err.Error(), "Anonymous.BindingKeys") || !strings.Contains(err.Error(), "LedgerWithoutBinding") {
		t.Fatalf("New: got %v, want an error naming Ledger, Anonymous.BindingKeys and LedgerWithoutBinding", err)
	}
	ok := base
	ok.Anonymous.BindingKeys = [][]byte{bindingKey}
	if _, err := identity.New(ok); err != nil {
		t.Errorf("with BindingKeys: %v", err)
	}
	ok = base
	ok.LedgerWithoutBinding = true
	if _, err := identity.New(ok); err != nil {
		t.Errorf("with LedgerWithoutBinding: %v", err)
	}
}

// TestLedgerNeverRecordsMadeUpIDs: a well-formed UUID the client made up
// (bare, with a forged MAC, under either cookie name) is never recorded nor
// linked, not even in the AcceptUnboundUntil window, where the token does
// carry it.
func TestLedgerNeverRecordsMadeUpIDs(t *testing.T) {
	for _, window := range []bool{false, true} {
		l := &fakeLedger{}
		anon := cookie.Config{BindingKeys: [][]byte{bindingKey}}
		if window {
			anon.AcceptUnboundUntil = fixedNow.Add(24 * time.Hour)
		}
		srv := newServer(t, identity.Config{Ledger: l, Anonymous: anon})
		var session string
		for _, hdr := range []string{
			"__Host-ANONYMOUS-USER-ID=" + madeUpID,
			"ANONYMOUS-USER-ID=" + madeUpID,
			"__Host-ANONYMOUS-USER-ID=" + madeUpID + ".AAAAAAAAAAAAAAAAAAAAAA",
		} {
			if session != "" {
				hdr += "; " + session
			}
			rec := do(srv, "GET", "https://example.com/createJWT", hdr)
			if rec.Code != http.StatusOK {
				t.Fatalf("token: %d", rec.Code)
			}
			if session == "" {
				login := do(srv, "POST", "https://example.com/authenticate", hdr)
				c := setCookie(login, "__Host-"+identity.DefaultSessionCookie)
				if c == nil {
					t.Fatalf("login: %d, no session cookie", login.Code)
				}
				session = c.Name + "=" + c.Value
			}
		}
		records, links := l.counts()
		for _, r := range append(records, links...) {
			if strings.HasPrefix(r, madeUpID) {
				t.Errorf("window %v: the made-up ID reached the ledger: records %v, links %v", window, records, links)
				break
			}
		}
	}
}

// TestLedgerNeverLinksSomeoneElsesID: someone who knows a visitor's sub
// (every token shows it) presents it as their own cookie and logs in; the
// visitor's ID is not linked to their account, with or without the
// AcceptUnboundUntil window. With LedgerWithoutBinding it is: that is the
// risk the opt-out accepts.
func TestLedgerNeverLinksSomeoneElsesID(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      identity.Config
		wantLink bool
	}{
		{"binding", identity.Config{Anonymous: cookie.Config{BindingKeys: [][]byte{bindingKey}}}, false},
		{"binding with an unbound window", identity.Config{Anonymous: cookie.Config{BindingKeys: [][]byte{bindingKey}, AcceptUnboundUntil: fixedNow.Add(time.Hour)}}, false},
		{"LedgerWithoutBinding", identity.Config{LedgerWithoutBinding: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &fakeLedger{}
			cfg := tc.cfg
			cfg.Ledger = l
			srv := newServer(t, cfg)
			victim := newClient(t, srv).token().Subject()

			// The attacker's browser, with the victim's ID put in by hand.
			name := "__Host-ANONYMOUS-USER-ID"
			if tc.cfg.LedgerWithoutBinding {
				name = "ANONYMOUS-USER-ID"
			}
			hdr := name + "=" + victim
			login := do(srv, "POST", "https://example.com/authenticate", hdr)
			if login.Code != http.StatusNoContent {
				t.Fatalf("login: %d", login.Code)
			}
			for _, c := range login.Result().Cookies() {
				if c.MaxAge >= 0 {
					hdr += "; " + c.Name + "=" + c.Value
				}
			}
			// Two tokens: the second presents whatever the first re-set.
			rec := do(srv, "GET", "https://example.com/createJWT", hdr)
			for _, c := range rec.Result().Cookies() {
				if c.Name == name {
					hdr = strings.Replace(hdr, name+"="+victim, name+"="+c.Value, 1)
				}
			}
			do(srv, "GET", "https://example.com/createJWT", hdr)
			_, links := l.counts()
			linked := false
			for _, ln := range links {
				if strings.HasPrefix(ln, victim+">") {
					linked = true
				}
			}
			if linked != tc.wantLink {
				t.Errorf("victim's ID linked = %v, want %v (links %v)", linked, tc.wantLink, links)
			}
		})
	}
}

// TestSessionCookieKeepsSecureWhenAnonymousIsSecureNever: only
// SecureAlways carries over from Anonymous.Secure; SecureNever (plain-HTTP
// development) does not weaken the session cookie, nor break a __Host- name.
func TestSessionCookieKeepsSecureWhenAnonymousIsSecureNever(t *testing.T) {
	srv := newServer(t, identity.Config{
		Anonymous:     cookie.Config{Secure: cookie.SecureNever},
		SessionCookie: cookie.SealerConfig{Name: "__Host-APP"},
	})
	if c := setCookie(do(srv, "POST", "https://example.com/authenticate", ""), "__Host-APP"); c == nil || !c.Secure {
		t.Errorf("got %+v, want a Secure __Host-APP cookie", c)
	}
}
