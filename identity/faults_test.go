package identity_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
	"github.com/webchatid/webchatid/internal/leakcheck"
)

// Faults: what the Server does when a part it depends on fails. Every row
// has a defined outcome (status, a log line, the counters), no panic
// escapes the handler, and no goroutine is left behind (internal/leakcheck).

// failingSigner passes New's self-test, then fails (a KMS gone away).
type failingSigner struct {
	crypto.Signer
	fail bool
}

func (s *failingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.fail {
		return nil, errors.New("kms: connection refused")
	}
	return s.Signer.Sign(rand, digest, opts)
}

// loggedLines returns the lines at Warn level or above that f's log gained
// after its first from bytes.
func loggedLines(f *advFixture, from int) []string {
	var lines []string
	for _, l := range strings.Split(f.logs.String()[from:], "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			lines = append(lines, l)
		}
	}
	return lines
}

// revokerFault logs in with rv working, breaks rv with brk, sends the
// request req makes with the session, and checks that the request logged
// exactly one line, which names want.
func revokerFault(t *testing.T, f *advFixture, brk func(), want string, req func([]*http.Cookie) *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	anon, _ := f.anon()
	cookies := []*http.Cookie{anon, f.login(anon)}
	brk()
	from := len(f.logs.String())
	rec := f.serve(req(cookies))
	if lines := loggedLines(f, from); len(lines) != 1 || !strings.Contains(lines[0], want) {
		t.Errorf("the request logged %d lines, want one naming %q: %q", len(lines), want, lines)
	}
	if rec.Code == http.StatusOK && strings.HasPrefix(rec.Body.String(), "eyJ") {
		if user := payload(t, verifyWithJWKS(t, f.h, rec.Body.String())); user["custom_user_id"] == "cade-id" {
			t.Error("the token carries the session whose revocation could not be checked")
		}
	}
	return rec
}

func TestFaults(t *testing.T) {
	errDown := errors.New("store is down")
	cade := &identity.SessionInfo{UserName: "Cade", CustomUserID: "cade-id"}
	downRV, strictRV, hangRV, logoutRV := newFakeRevoker(), newFakeRevoker(), newFakeRevoker(), newFakeRevoker()
	get := func(f *advFixture, ctx context.Context) *httptest.ResponseRecorder {
		return f.serve(f.req("GET", "/createJWT", "", nil).WithContext(ctx))
	}
	rows := []struct {
		name       string
		cfg        func(*identity.Config)
		run        func(t *testing.T, f *advFixture) *httptest.ResponseRecorder
		wantStatus int
		wantLog    string
		wantStats  identity.Stats
	}{
		{
			name: "a failing session source: the visitor is anonymous",
			cfg: func(c *identity.Config) {
				c.SessionKeys, c.Authenticate = nil, nil
				c.Sessions = staticSource(nil, errDown)
			},
			wantStatus: 200, wantLog: "session source failed", wantStats: identity.Stats{SessionErrors: 1},
		},
		{
			name: "a failing session source with StrictSessions: 503",
			cfg: func(c *identity.Config) {
				c.SessionKeys, c.Authenticate, c.StrictSessions = nil, nil, true
				c.Sessions = staticSource(nil, errDown)
			},
			wantStatus: 503, wantLog: "store is down", wantStats: identity.Stats{SessionErrors: 1},
		},
		{
			name: "a panicking session source: 500, logged, counted",
			cfg: func(c *identity.Config) {
				c.SessionKeys, c.Authenticate = nil, nil
				c.Sessions = identity.SessionSourceFunc(func(*http.Request) (*identity.SessionInfo, error) { panic("session store bug") })
			},
			wantStatus: 500, wantLog: "session store bug", wantStats: identity.Stats{Panics: 1},
		},
		{
			name: "a session source that blocks returns when the request ends",
			cfg: func(c *identity.Config) {
				c.SessionKeys, c.Authenticate, c.Ledger = nil, nil, nil
				c.Sessions = identity.SessionSourceFunc(func(r *http.Request) (*identity.SessionInfo, error) {
					<-r.Context().Done()
					return nil, r.Context().Err()
				})
			},
			run: func(t *testing.T, f *advFixture) *httptest.ResponseRecorder {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(time.Millisecond, cancel) // the client gives up
				return get(f, ctx)
			},
			wantStatus: 200, wantLog: "context canceled", wantStats: identity.Stats{SessionErrors: 1},
		},
		// A revocation store that fails or hangs: fail closed. The session
		// is not honoured (an anonymous token, or 503 with StrictSessions),
		// and a logout that cannot revoke answers 503 and keeps the cookie.
		{
			name: "a revocation store that is down: the session is not honoured, the token is anonymous",
			cfg:  func(c *identity.Config) { c.Revoker = downRV },
			run: func(t *testing.T, f *advFixture) *httptest.ResponseRecorder {
				return revokerFault(t, f, func() { downRV.down.Store(true) }, "connection refused", func(cs []*http.Cookie) *http.Request {
					return f.req("GET", "/createJWT", "", cs)
				})
			},
			wantStatus: 200, wantLog: "session source failed", wantStats: identity.Stats{SessionErrors: 1},
		},
		{
			name: "a revocation store that is down with StrictSessions: 503",
			cfg:  func(c *identity.Config) { c.Revoker, c.StrictSessions = strictRV, true },
			run: func(t *testing.T, f *advFixture) *httptest.ResponseRecorder {
				return revokerFault(t, f, func() { strictRV.down.Store(true) }, "connection refused", func(cs []*http.Cookie) *http.Request {
					return f.req("GET", "/createJWT", "", cs)
				})
			},
			wantStatus: 503, wantLog: "Config.Revoker", wantStats: identity.Stats{SessionErrors: 1},
		},
		{
			name: "a revocation store that hangs past the deadline: anonymous when the deadline passes",
			cfg:  func(c *identity.Config) { c.Revoker, c.Ledger = hangRV, nil },
			run: func(t *testing.T, f *advFixture) *httptest.ResponseRecorder {
				return revokerFault(t, f, func() { hangRV.hang.Store(true) }, "context deadline exceeded", func(cs []*http.Cookie) *http.Request {
					// The deadline has passed when the store is asked (a
					// moment ago, so no timer and no wait): the store's
					// call must give up on it.
					ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
					t.Cleanup(cancel)
					return f.req("GET", "/createJWT", "", cs).WithContext(ctx)
				})
			},
			wantStatus: 200, wantLog: "context deadline exceeded", wantStats: identity.Stats{SessionErrors: 1},
		},
		{
			name: "a revocation store that is down at logout: 503, the session cookie kept",
			cfg:  func(c *identity.Config) { c.Revoker = logoutRV },
			run: func(t *testing.T, f *advFixture) *httptest.ResponseRecorder {
				rec := revokerFault(t, f, func() { logoutRV.down.Store(true) }, "Config.Revoker: revocation store: connection refused", func(cs []*http.Cookie) *http.Request {
					return f.req("POST", "/logout", "", cs, "Sec-Fetch-Site", "same-origin")
				})
				for _, c := range rec.Result().Cookies() {
					if c.Name == identity.DefaultSessionCookie {
						t.Errorf("the failed logout wrote the session cookie (Max-Age %d)", c.MaxAge)
					}
				}
				return rec
			},
			wantStatus: 503, wantLog: "op=logout", wantStats: identity.Stats{SessionErrors: 1},
		},
		{
			name: "a failing Subject hook: 500",
			cfg: func(c *identity.Config) {
				c.Subject = func(*http.Request, string, *identity.SessionInfo) (string, error) { return "", errDown }
			},
			wantStatus: 500, wantLog: "store is down",
		},
		{
			name: "a panicking Subject hook: 500",
			cfg: func(c *identity.Config) {
				c.Subject = func(*http.Request, string, *identity.SessionInfo) (string, error) { panic("subject bug") }
			},
			wantStatus: 500, wantLog: "subject bug", wantStats: identity.Stats{Panics: 1},
		},
		{
			name: "a Subject hook returning a sub unsafe for IBM's header: 500",
			cfg: func(c *identity.Config) {
				c.Subject = func(*http.Request, string, *identity.SessionInfo) (string, error) { return "a\r\nb", nil }
			},
			wantStatus: 500, wantLog: "sub",
		},
		{
			name: "a failing Claims hook: 500",
			cfg: func(c *identity.Config) {
				c.Claims = func(*http.Request, *claims.Builder, *identity.SessionInfo) error { return errDown }
			},
			wantStatus: 500, wantLog: "store is down",
		},
		{
			name: "a panicking Claims hook: 500",
			cfg: func(c *identity.Config) {
				c.Claims = func(*http.Request, *claims.Builder, *identity.SessionInfo) error { panic("claims bug") }
			},
			wantStatus: 500, wantLog: "claims bug", wantStats: identity.Stats{Panics: 1},
		},
		{
			name: "a panicking Authenticate hook: 500 and no session",
			cfg: func(c *identity.Config) {
				c.Authenticate = func(*http.Request) (*identity.SessionInfo, error) { panic("login bug") }
			},
			run: func(t *testing.T, f *advFixture) *httptest.ResponseRecorder {
				return f.serve(f.req("POST", "/authenticate", "", nil, "Sec-Fetch-Site", "same-origin"))
			},
			wantStatus: 500, wantLog: "login bug", wantStats: identity.Stats{Panics: 1},
		},
		{
			name: "a failing Authenticate hook (not ErrUnauthenticated): 500",
			cfg: func(c *identity.Config) {
				c.Authenticate = func(*http.Request) (*identity.SessionInfo, error) { return nil, errDown }
			},
			run: func(t *testing.T, f *advFixture) *httptest.ResponseRecorder {
				return f.serve(f.req("POST", "/authenticate", "", nil, "Sec-Fetch-Site", "same-origin"))
			},
			wantStatus: 500, wantLog: "store is down",
		},
		{
			name:       "a ledger that is down: the token is issued anyway",
			cfg:        func(c *identity.Config) { c.Ledger = &fakeLedger{fail: true} },
			wantStatus: 200, wantLog: "ledger write failed", wantStats: identity.Stats{LedgerErrors: 1},
		},
		{
			name:       "a ledger that is down with StrictLedger: 503",
			cfg:        func(c *identity.Config) { c.Ledger, c.StrictLedger = &fakeLedger{fail: true}, true },
			wantStatus: 503, wantLog: "ledger", wantStats: identity.Stats{LedgerErrors: 1},
		},
		{
			name: "a signer that fails at request time (a KMS gone): 500, no token",
			cfg: func(c *identity.Config) {
				s := &failingSigner{Signer: rsaKey(t, keyA)}
				c.SigningKeys = []identity.SigningKey{{Key: s}}
				c.Claims = func(*http.Request, *claims.Builder, *identity.SessionInfo) error { s.fail = true; return nil }
			},
			wantStatus: 500, wantLog: "connection refused",
		},
		{
			name: "a session source returning an unusable session: 500",
			cfg: func(c *identity.Config) {
				c.SessionKeys, c.Authenticate = nil, nil
				c.Sessions = staticSource(&identity.SessionInfo{UserName: "no ID"}, nil)
			},
			wantStatus: 500, wantLog: "CustomUserID is empty",
		},
		{
			name: "a session source that works (control)",
			cfg: func(c *identity.Config) {
				c.SessionKeys, c.Authenticate = nil, nil
				c.Sessions = staticSource(cade, nil)
			},
			wantStatus: 200,
		},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			leakcheck.Check(t)
			f := newAdvFixture(t, row.cfg)
			var rec *httptest.ResponseRecorder
			func() {
				defer func() {
					if v := recover(); v != nil {
						t.Fatalf("a panic escaped the handler: %v", v)
					}
				}()
				if row.run != nil {
					rec = row.run(t, f)
				} else {
					rec = get(f, context.Background())
				}
			}()
			if rec.Code != row.wantStatus {
				t.Errorf("got status %d (%q), want %d", rec.Code, rec.Body.String(), row.wantStatus)
			}
			if rec.Code != 200 && strings.HasPrefix(rec.Body.String(), "eyJ") {
				t.Error("a failed request carries a token")
			}
			if row.wantLog != "" && !strings.Contains(f.logs.String(), row.wantLog) {
				t.Errorf("the log lacks %q:\n%s", row.wantLog, f.logs.String())
			}
			if got := f.srv.Stats(); got.SessionErrors != row.wantStats.SessionErrors || got.LedgerErrors != row.wantStats.LedgerErrors || got.Panics != row.wantStats.Panics {
				t.Errorf("Stats: got %+v, want %+v", got, row.wantStats)
			}
		})
	}
}

// TestFaultsHangingLedgerHasItsOwnDeadline: a ledger that never answers
// delays a token by Config.LedgerTimeout, not by the request's own life
// (which may be unbounded), and a request that ends early does not cut a
// ledger write short. Fake time (testing/synctest): no real waiting.
func TestFaultsHangingLedgerHasItsOwnDeadline(t *testing.T) {
	for _, tc := range []struct {
		name       string
		strict     bool
		cancelAt   time.Duration // the request's context ends then; 0: never
		wantStatus int
	}{
		{name: "the request never ends: token after LedgerTimeout", wantStatus: 200},
		{name: "the request ends first: the write still gets its deadline", cancelAt: time.Millisecond, wantStatus: 200},
		{name: "StrictLedger: 503 after LedgerTimeout", strict: true, wantStatus: 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const timeout = 3 * time.Second
				f := newAdvFixture(t, func(c *identity.Config) {
					c.Ledger, c.StrictLedger, c.LedgerTimeout = &fakeLedger{hang: true}, tc.strict, timeout
				})
				ctx := context.Background()
				if tc.cancelAt > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					defer cancel()
					time.AfterFunc(tc.cancelAt, cancel)
				}
				start := time.Now()
				rec := f.serve(f.req("GET", "/createJWT", "", nil).WithContext(ctx))
				if took := time.Since(start); took != timeout {
					t.Errorf("the request took %v, want LedgerTimeout (%v)", took, timeout)
				}
				if rec.Code != tc.wantStatus {
					t.Errorf("got status %d, want %d", rec.Code, tc.wantStatus)
				}
				if logs := f.logs.String(); !strings.Contains(logs, "deadline exceeded") {
					t.Errorf("the log lacks the ledger's deadline (not the request's cancellation):\n%s", logs)
				}
				if got := f.srv.Stats().LedgerErrors; got != 1 {
					t.Errorf("Stats.LedgerErrors: got %d, want 1", got)
				}
			})
		})
	}
}

// The default LedgerTimeout is short beside a request, and a negative one
// is refused.
func TestLedgerTimeoutDefaultAndValidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newAdvFixture(t, func(c *identity.Config) { c.Ledger = &fakeLedger{hang: true} })
		start := time.Now()
		if rec := f.serve(f.req("GET", "/createJWT", "", nil)); rec.Code != 200 {
			t.Errorf("got status %d, want 200", rec.Code)
		}
		if took := time.Since(start); took != 250*time.Millisecond {
			t.Errorf("a hanging ledger delayed the token by %v, want the default 250ms", took)
		}
	})
	cfg := identity.Config{SigningKeys: []identity.SigningKey{{Key: rsaKey(t, keyA)}}, LedgerTimeout: -time.Second}
	if _, err := identity.New(cfg); err == nil || !strings.Contains(err.Error(), "LedgerTimeout") {
		t.Errorf("New with a negative LedgerTimeout: got %v, want an error naming it", err)
	}
}

// Keys that cannot be read stop the start with an error naming the file,
// never a panic, and New refuses a missing key naming the field.
func TestFaultsUnreadableKeysAtStart(t *testing.T) {
	dir := t.TempDir()
	for name, path := range map[string]string{"missing": dir + "/missing.pem", "a directory": dir} {
		if _, err := keys.LoadPrivateFile(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: LoadPrivateFile: got %v, want an error naming %s", name, err, path)
		}
	}
	empty := dir + "/empty.pem"
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.LoadPrivateFile(empty); !errors.Is(err, keys.ErrInvalid) {
		t.Errorf("empty file: got %v, want keys.ErrInvalid", err)
	}
	if _, err := identity.New(identity.Config{SigningKeys: []identity.SigningKey{{Key: (*rsa.PrivateKey)(nil)}}}); err == nil || !strings.Contains(err.Error(), "Config.SigningKeys[0]") {
		t.Errorf("New with a nil key: got %v, want an error naming Config.SigningKeys[0]", err)
	}
}

// A server clock far off issues tokens stamped by that clock: a verifier
// with the right time refuses them as not yet valid (clock ahead) or as
// expired (clock behind), which webchatid doctor's iat check reports. The
// server itself does not guess the time.
func TestFaultsClockFarOff(t *testing.T) {
	for _, tc := range []struct {
		name string
		skew time.Duration
		want error
	}{
		{"a clock 2 h ahead", 2 * time.Hour, claims.ErrNotYetValid},
		{"a clock 2 h behind", -2 * time.Hour, claims.ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, identity.Config{Now: fixedClock(fixedNow.Add(tc.skew))})
			rec := newClient(t, srv).do("GET", "/createJWT")
			if rec.Code != http.StatusOK {
				t.Fatalf("got %d, want 200: the server stamps tokens by its own clock", rec.Code)
			}
			_, err := claims.Verify(rec.Body.String(), srv.PublicKeys()[0], claims.WithClock(fixedClock(fixedNow)))
			if !errors.Is(err, tc.want) {
				t.Errorf("Verify at the true time: got %v, want %v", err, tc.want)
			}
		})
	}
}
