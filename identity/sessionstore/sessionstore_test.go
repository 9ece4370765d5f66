package sessionstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/postgres"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
	"github.com/webchatid/webchatid/identity/sessionstore"
	"github.com/webchatid/webchatid/internal/pgtest"
)

var (
	_ identity.SessionStore = (*sessionstore.Store)(nil)
	_ sessionstore.Backend  = (*sqlstore.Store)(nil)
	_ sessionstore.Backend  = (*sessionstore.Memory)(nil)
)

// clock is the test's clock: it moves only when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// backends are the Backends every behaviour test runs on.
var backends = []struct {
	name string
	open func(t *testing.T) sessionstore.Backend
}{
	{"Memory", func(*testing.T) sessionstore.Backend { return sessionstore.NewMemory() }},
	{"SQLite", func(t *testing.T) sessionstore.Backend {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "ledger.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"PostgreSQL", func(t *testing.T) sessionstore.Backend {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := postgres.Open(ctx, freshDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
}

// freshDSN returns a DSN whose search_path is a new schema, dropped when t
// ends, or skips (fails in CI) when no PostgreSQL server is given.
func freshDSN(t *testing.T) string { return pgtest.Schema(t, "webchatid_test_") }

func forEachBackend(t *testing.T, f func(t *testing.T, b sessionstore.Backend)) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) { f(t, bk.open(t)) })
	}
}

func newStore(t *testing.T, cfg sessionstore.Config) *sessionstore.Store {
	t.Helper()
	s, err := sessionstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var cade = &identity.SessionInfo{UserName: "Cade", CustomUserID: "cade-id", Extra: map[string]any{"plan": "gold"}}

// login logs cade in on a request carrying cookies, and returns the session
// cookie set.
func login(t *testing.T, s *sessionstore.Store, cookies ...*http.Cookie) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	if err := s.Login(w, request(cookies...), cade); err != nil {
		t.Fatalf("Login: %v", err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == s.Name() && c.MaxAge > 0 {
			return c
		}
	}
	t.Fatalf("Login set no %s cookie: %q", s.Name(), w.Header().Values("Set-Cookie"))
	return nil
}

func request(cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/createJWT", nil)
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func session(t *testing.T, s *sessionstore.Store, cookies ...*http.Cookie) *identity.SessionInfo {
	t.Helper()
	info, err := s.Session(request(cookies...))
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	return info
}

// TestLoginSessionLogout: a login is read back whole from the ID alone, and
// after Logout the same cookie, replayed, logs nobody in.
func TestLoginSessionLogout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b sessionstore.Backend) {
		s := newStore(t, sessionstore.Config{Backend: b})
		c := login(t, s)
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" || c.MaxAge != int(sessionstore.DefaultMaxAge/time.Second) {
			t.Errorf("cookie attributes: %+v; want HttpOnly, SameSite=Lax, not Secure over plain HTTP, Path=/, 24 h", c)
		}
		if len(c.Value) != 22 || strings.Contains(c.Value, "Cade") {
			t.Errorf("cookie value %q: want only a 22-character ID", c.Value)
		}
		got := session(t, s, c)
		if got == nil || got.UserName != "Cade" || got.CustomUserID != "cade-id" || got.Extra["plan"] != "gold" {
			t.Fatalf("Session after Login: %+v; want cade", got)
		}
		if got := session(t, s); got != nil {
			t.Fatalf("Session without a cookie: %+v; want none", got)
		}

		w := httptest.NewRecorder()
		s.Logout(w, request(c))
		cleared := false
		for _, d := range w.Result().Cookies() {
			if d.Name == s.Name() && d.MaxAge < 0 {
				cleared = true
			}
		}
		if !cleared {
			t.Errorf("Logout did not clear the cookie: %q", w.Header().Values("Set-Cookie"))
		}
		if got := session(t, s, c); got != nil {
			t.Fatalf("Session with the cookie replayed after Logout: %+v; want none", got)
		}
	})
}

// TestLoginMakesANewID: each login gets a new ID, and the ID the request
// carried (perhaps planted by an attacker) is ended, against fixation.
func TestLoginMakesANewID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b sessionstore.Backend) {
		s := newStore(t, sessionstore.Config{Backend: b})
		first := login(t, s)
		second := login(t, s, first)
		if first.Value == second.Value {
			t.Fatal("a second Login kept the session ID")
		}
		if got := session(t, s, second); got == nil {
			t.Fatal("Session with the new ID: none")
		}
		if got := session(t, s, first); got != nil {
			t.Fatalf("Session with the ID from before the login: %+v; want none", got)
		}
	})
}

// TestExpiry: a session ends MaxAge after its login, by Config.Now.
func TestExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b sessionstore.Backend) {
		clk := newClock()
		s := newStore(t, sessionstore.Config{Backend: b, MaxAge: time.Hour, Now: clk.Now})
		c := login(t, s)
		if c.MaxAge != 3600 {
			t.Errorf("cookie Max-Age: %d; want 3600", c.MaxAge)
		}
		clk.Add(time.Hour - time.Second)
		if got := session(t, s, c); got == nil {
			t.Fatal("Session a second before expiry: none")
		}
		clk.Add(time.Second)
		if got := session(t, s, c); got != nil {
			t.Fatalf("Session at expiry: %+v; want none", got)
		}
	})
}

// TestForgedID: an ID nobody logged in with, or a value that is no ID, is
// anonymous and not an error; and what the backend holds is no cookie.
func TestForgedID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b sessionstore.Backend) {
		s := newStore(t, sessionstore.Config{Backend: b})
		real := login(t, s)
		for _, v := range []string{"AAAAAAAAAAAAAAAAAAAAAA", "not-an-id", real.Value + "A", strings.ToUpper(real.Value)} {
			if got := session(t, s, &http.Cookie{Name: s.Name(), Value: v}); got != nil {
				t.Errorf("Session with forged value %q: %+v; want none", v, got)
			}
		}
	})
}

// keyRecorder records the keys a Backend is given.
type keyRecorder struct {
	sessionstore.Backend
	mu   sync.Mutex
	seen []string
}

func (k *keyRecorder) SessionPut(ctx context.Context, key string, data []byte, expires time.Time) error {
	k.mu.Lock()
	k.seen = append(k.seen, key)
	k.mu.Unlock()
	return k.Backend.SessionPut(ctx, key, data, expires)
}

// TestBackendNeverSeesTheID: the backend holds a hash of the ID, so a copy
// of the database cannot be replayed as cookies.
func TestBackendNeverSeesTheID(t *testing.T) {
	k := &keyRecorder{Backend: sessionstore.NewMemory()}
	s := newStore(t, sessionstore.Config{Backend: k})
	c := login(t, s)
	if len(k.seen) != 1 || k.seen[0] == c.Value || strings.Contains(k.seen[0], c.Value) {
		t.Fatalf("backend keys %q for cookie ID %q: want one key that is not the ID", k.seen, c.Value)
	}
	if got := session(t, s, &http.Cookie{Name: s.Name(), Value: k.seen[0][:22]}); got != nil {
		t.Fatal("the backend's key, as a cookie, logs the user in")
	}
}

// failing is a Backend whose every call fails.
type failing struct{}

var errDown = errors.New("database down")

func (failing) SessionPut(context.Context, string, []byte, time.Time) error { return errDown }
func (failing) SessionGet(context.Context, string) ([]byte, time.Time, error) {
	return nil, time.Time{}, errDown
}
func (failing) SessionDelete(context.Context, string) error { return errDown }

// switchable fails once told to.
type switchable struct {
	sessionstore.Backend
	mu   sync.Mutex
	down bool
}

func (s *switchable) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *switchable) fail() sessionstore.Backend {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return failing{}
	}
	return s.Backend
}
func (s *switchable) SessionPut(ctx context.Context, k string, d []byte, e time.Time) error {
	return s.fail().SessionPut(ctx, k, d, e)
}
func (s *switchable) SessionGet(ctx context.Context, k string) ([]byte, time.Time, error) {
	return s.fail().SessionGet(ctx, k)
}
func (s *switchable) SessionDelete(ctx context.Context, k string) error {
	return s.fail().SessionDelete(ctx, k)
}

// TestBackendFailure: a failing backend is an error (never "anonymous"),
// a login that cannot be stored sets no cookie, and a logout that cannot
// delete keeps the cookie.
func TestBackendFailure(t *testing.T) {
	var logs bytes.Buffer
	b := &switchable{Backend: sessionstore.NewMemory()}
	s := newStore(t, sessionstore.Config{Backend: b, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	c := login(t, s)
	b.setDown(true)

	if info, err := s.Session(request(c)); !errors.Is(err, errDown) || info != nil {
		t.Errorf("Session on a failing backend: %+v, %v; want the backend's error", info, err)
	}
	w := httptest.NewRecorder()
	if err := s.Login(w, request(), cade); !errors.Is(err, errDown) {
		t.Errorf("Login on a failing backend: %v; want the backend's error", err)
	}
	if sc := w.Header().Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("failed Login set cookies: %q", sc)
	}
	w = httptest.NewRecorder()
	if err := s.End(w, request(c)); !errors.Is(err, errDown) {
		t.Errorf("End on a failing backend: %v; want the backend's error", err)
	}
	w = httptest.NewRecorder()
	s.Logout(w, request(c))
	if sc := w.Header().Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("failed Logout changed cookies: %q", sc)
	}
	if !strings.Contains(logs.String(), "logout failed") {
		t.Errorf("failed Logout logged %q; want an error line", logs.String())
	}
	if strings.Contains(logs.String(), c.Value) {
		t.Errorf("log contains the session ID: %q", logs.String())
	}
	b.setDown(false)
	if got := session(t, s, c); got == nil {
		t.Error("after the backend recovered, the session that failed to log out is gone; want it kept")
	}
}

// TestLogsNoSecrets: ignoring cookies logs why, never the value or the
// session's contents.
func TestLogsNoSecrets(t *testing.T) {
	var logs bytes.Buffer
	s := newStore(t, sessionstore.Config{Backend: sessionstore.NewMemory(),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	c := login(t, s)
	session(t, s, c)
	s.Logout(httptest.NewRecorder(), request(c))
	session(t, s, c)
	session(t, s, &http.Cookie{Name: s.Name(), Value: "forged-value-xyz"})
	out := logs.String()
	if !strings.Contains(out, "session cookie ignored") {
		t.Fatalf("no Debug line for ignored cookies: %q", out)
	}
	for _, secret := range []string{c.Value, "forged-value-xyz", "Cade", "cade-id", "gold"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q: %q", secret, out)
		}
	}
}

// TestSecure: over TLS the cookie is __Host- and Secure, and only that name
// is read, so a plain-named cookie tossed in by a sibling subdomain logs
// nobody in; behind a proxy SecureAlways does the same.
func TestSecure(t *testing.T) {
	s := newStore(t, sessionstore.Config{Backend: sessionstore.NewMemory()})
	tlsReq := func(cookies ...*http.Cookie) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "https://example.com/createJWT", nil)
		for _, c := range cookies {
			r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		return r
	}
	w := httptest.NewRecorder()
	if err := s.Login(w, tlsReq(), cade); err != nil {
		t.Fatal(err)
	}
	var host *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == "__Host-"+identity.DefaultSessionCookie && c.MaxAge > 0 {
			host = c
		}
	}
	if host == nil || !host.Secure || host.Domain != "" || host.Path != "/" {
		t.Fatalf("TLS login cookies %q; want a Secure __Host- cookie", w.Header().Values("Set-Cookie"))
	}
	if info, err := s.Session(tlsReq(host)); info == nil || err != nil {
		t.Fatalf("Session over TLS with the __Host- cookie: %+v, %v", info, err)
	}
	plain := &http.Cookie{Name: identity.DefaultSessionCookie, Value: host.Value}
	if info, _ := s.Session(tlsReq(plain)); info != nil {
		t.Fatal("over TLS, the plain-named cookie was read")
	}

	behind := newStore(t, sessionstore.Config{Backend: sessionstore.NewMemory(), Secure: cookie.SecureAlways})
	w = httptest.NewRecorder()
	if err := behind.Login(w, request(), cade); err != nil {
		t.Fatal(err)
	}
	if sc := w.Header().Get("Set-Cookie"); !strings.HasPrefix(sc, "__Host-") || !strings.Contains(sc, "Secure") {
		t.Fatalf("SecureAlways login cookie %q; want Secure __Host-", sc)
	}
}

// TestConfigErrors: bad configurations are refused at construction, naming
// the field.
func TestConfigErrors(t *testing.T) {
	m := sessionstore.NewMemory()
	for _, tc := range []struct {
		cfg  sessionstore.Config
		want string
	}{
		{sessionstore.Config{}, "Config.Backend"},
		{sessionstore.Config{Backend: m, MaxAge: 500 * time.Millisecond}, "Config.MaxAge"},
		{sessionstore.Config{Backend: m, MaxAge: -time.Hour}, "Config.MaxAge"},
		{sessionstore.Config{Backend: m, Name: "__Host-S", Domain: "example.com"}, "Config.Name"},
		{sessionstore.Config{Backend: m, Name: "__Host-S", Path: "/app"}, "Config.Name"},
		{sessionstore.Config{Backend: m, Name: "__Secure-S", Secure: cookie.SecureNever}, "Config.Secure"},
		{sessionstore.Config{Backend: m, SameSite: http.SameSiteNoneMode, Secure: cookie.SecureNever}, "Config.Secure"},
		{sessionstore.Config{Backend: m, Name: "bad name;"}, "Config.Name"},
		{sessionstore.Config{Backend: m, Secure: 7}, "Config.Secure"},
		{sessionstore.Config{Backend: m, SameSite: 9}, "Config.SameSite"},
	} {
		s, err := sessionstore.New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v): %v, %v; want an error naming %s", tc.cfg, s, err, tc.want)
		}
	}
}

// TestInvalidInfo: Login refuses info identity would refuse.
func TestInvalidInfo(t *testing.T) {
	s := newStore(t, sessionstore.Config{Backend: sessionstore.NewMemory()})
	for _, info := range []*identity.SessionInfo{nil, {UserName: "x"}, {CustomUserID: "u", Extra: map[string]any{"name": "x"}}, {CustomUserID: "u", Extra: map[string]any{"f": func() {}}}} {
		w := httptest.NewRecorder()
		if err := s.Login(w, request(), info); !errors.Is(err, identity.ErrInvalidSession) {
			t.Errorf("Login(%+v): %v; want ErrInvalidSession", info, err)
		}
		if len(w.Header().Values("Set-Cookie")) != 0 {
			t.Errorf("refused Login(%+v) set a cookie", info)
		}
	}
}
