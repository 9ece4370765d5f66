package identity_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
)

func staticSource(info *identity.SessionInfo, err error) identity.SessionSource {
	return identity.SessionSourceFunc(func(*http.Request) (*identity.SessionInfo, error) { return info, err })
}

func TestChain(t *testing.T) {
	ada := &identity.SessionInfo{UserName: "Ada", CustomUserID: "ada"}
	bob := &identity.SessionInfo{UserName: "Bob", CustomUserID: "bob"}
	anon := staticSource(nil, nil)
	tests := []struct {
		name    string
		sources []identity.SessionSource
		want    *identity.SessionInfo
		wantErr bool
	}{
		{"empty chain is anonymous", nil, nil, false},
		{"all anonymous", []identity.SessionSource{anon, anon}, nil, false},
		{"first non-nil wins", []identity.SessionSource{anon, staticSource(ada, nil), staticSource(bob, nil)}, ada, false},
		{"an error stops the chain", []identity.SessionSource{staticSource(nil, errTest), staticSource(bob, nil)}, nil, true},
		{"a session before an error wins", []identity.SessionSource{staticSource(ada, nil), staticSource(nil, errTest)}, ada, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := identity.Chain(tt.sources...).Session(httptest.NewRequest("GET", "/", nil))
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("got %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestChainPanicsOnNil(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Chain(nil) did not panic")
		}
	}()
	identity.Chain(identity.ContextSessions{}, nil)
}

func TestSessionFromWithoutMiddleware(t *testing.T) {
	if info, ok := identity.SessionFrom(context.Background()); ok || info != nil {
		t.Errorf("got %v, %v; want nil, false", info, ok)
	}
	if info, ok := identity.SessionFrom(identity.WithSession(context.Background(), nil)); ok || info != nil {
		t.Errorf("after WithSession(nil): got %v, %v; want nil, false", info, ok)
	}
	want := &identity.SessionInfo{CustomUserID: "u"}
	if info, ok := identity.SessionFrom(identity.WithSession(context.Background(), want)); !ok || info != want {
		t.Errorf("got %v, %v; want the stored session", info, ok)
	}
}

func TestCookieSessions(t *testing.T) {
	clock := newStepClock()
	cs, err := identity.NewCookieSessions(cookie.SealerConfig{Keys: [][]byte{secretKey(3)}, MaxAge: time.Hour, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	if cs.Name() != identity.DefaultSessionCookie {
		t.Errorf("Name: got %q, want %q", cs.Name(), identity.DefaultSessionCookie)
	}
	want := &identity.SessionInfo{UserName: "Ada", CustomUserID: "ada-1", SSOToken: "sso", Extra: map[string]any{"plan": "gold"}}
	rec := httptest.NewRecorder()
	if err := cs.Login(rec, httptest.NewRequest("POST", "/", nil), want); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(rec.Result().Cookies()[0])
	got, err := cs.Session(req)
	if err != nil || got == nil || got.UserName != "Ada" || got.CustomUserID != "ada-1" || got.SSOToken != "sso" || got.Extra["plan"] != "gold" {
		t.Fatalf("got %+v, %v; want the logged-in session back", got, err)
	}

	clock.advance(2 * time.Hour)
	if got, err := cs.Session(req); got != nil || err != nil {
		t.Errorf("expired session: got %+v, %v; want anonymous", got, err)
	}

	rec = httptest.NewRecorder()
	cs.Logout(rec, req)
	// The session cookie, then its tossed variants (Domain=…).
	if ck := rec.Result().Cookies(); len(ck) == 0 || ck[0].MaxAge >= 0 || ck[0].Domain != "" {
		t.Errorf("Logout: got cookies %v, want the session cookie cleared", ck)
	} else {
		for _, c := range ck {
			if c.MaxAge >= 0 {
				t.Errorf("Logout sets %v, want only deletions", c)
			}
		}
	}
}

func TestCookieSessionsLoginRefuses(t *testing.T) {
	cs, err := identity.NewCookieSessions(cookie.SealerConfig{Keys: [][]byte{secretKey(3)}})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		info *identity.SessionInfo
		want error
	}{
		"nil":                  {nil, identity.ErrInvalidSession},
		"no CustomUserID":      {&identity.SessionInfo{UserName: "x"}, identity.ErrInvalidSession},
		"Extra overrides name": {&identity.SessionInfo{CustomUserID: "u", Extra: map[string]any{"name": "x"}}, identity.ErrInvalidSession},
		"unencodable Extra":    {&identity.SessionInfo{CustomUserID: "u", Extra: map[string]any{"f": func() {}}}, identity.ErrInvalidSession},
		"too large":            {&identity.SessionInfo{CustomUserID: "u", Extra: map[string]any{"big": strings.Repeat("x", 5000)}}, cookie.ErrTooLarge},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			err := cs.Login(rec, httptest.NewRequest("POST", "/", nil), tt.info)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			if rec.Header().Get("Set-Cookie") != "" {
				t.Error("a refused login set a cookie")
			}
		})
	}
}

func TestNewCookieSessionsRefusesBadKeys(t *testing.T) {
	_, err := identity.NewCookieSessions(cookie.SealerConfig{Keys: [][]byte{make([]byte, 16)}})
	if err == nil || !strings.HasPrefix(err.Error(), "identity: NewCookieSessions: cookie:") {
		t.Errorf("got %v, want the sealer's error", err)
	}
}

// The cookie's storage format is fixed: cookies sealed before a release
// open after it, whatever becomes of SessionInfo's fields.
func TestCookieSessionsStorageFormatIsStable(t *testing.T) {
	cfg := cookie.SealerConfig{Name: "S", Keys: [][]byte{secretKey(7)}}
	sessions, err := identity.NewCookieSessions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := cookie.NewSealer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	value, err := sealer.Seal([]byte(`{"n":"Cade","u":"cade-id","s":"sso","x":{"plan":"gold"}}`))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "S", Value: value})
	got, err := sessions.Session(r)
	if err != nil || got == nil {
		t.Fatalf("Session: got %v, %v; want Cade", got, err)
	}
	if got.UserName != "Cade" || got.CustomUserID != "cade-id" || got.SSOToken != "sso" || got.Extra["plan"] != "gold" {
		t.Errorf("Session: got %+v, want Cade, cade-id, sso, plan gold", got)
	}

	// And Login writes that format.
	w := httptest.NewRecorder()
	if err := sessions.Login(w, r, got); err != nil {
		t.Fatal(err)
	}
	plain, err := sealer.Open(w.Result().Cookies()[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	// The same short names, plus the session ID and expiry that revocation uses.
	if want := `{"n":"Cade","u":"cade-id","s":"sso","x":{"plan":"gold"},"i":"`; !strings.HasPrefix(string(plain), want) || !strings.Contains(string(plain), `,"e":`) {
		t.Errorf("Login sealed %s, want %s…\",\"e\":…}", plain, want)
	}
}

// SessionInfo is the app's type, not the session cookie's storage format:
// the short JSON names live on an unexported struct, so that the public
// type can change without breaking cookies already issued.
func TestSessionInfoCarriesNoStorageTags(t *testing.T) {
	typ := reflect.TypeFor[identity.SessionInfo]()
	for i := range typ.NumField() {
		if f := typ.Field(i); f.Tag != "" {
			t.Errorf("SessionInfo.%s has the tag %q; the cookie's format belongs on the unexported sessionCookie", f.Name, f.Tag)
		}
	}
}
