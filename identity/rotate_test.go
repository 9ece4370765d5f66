package identity_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/internal/logbuf"
)

// hasSession reports whether a token for the client's cookies carries the
// Cade session, failing t if it is neither Cade's nor anonymous.
func hasSession(t *testing.T, c *client) bool {
	t.Helper()
	switch name := payload(t, c.token())["name"]; name {
	case "Cade":
		return true
	case "Anonymous":
		return false
	default:
		t.Fatalf("user_payload name: got %v", name)
		return false
	}
}

func login(t *testing.T, c *client) {
	t.Helper()
	if rec := c.do("POST", "/authenticate", "Sec-Fetch-Site", "same-origin"); rec.Code != http.StatusOK && rec.Code != http.StatusNoContent {
		t.Fatalf("POST /authenticate: got %d %q", rec.Code, rec.Body.String())
	}
}

// sealedWith reports whether a session cookie value opens with key alone.
func sealedWith(t *testing.T, value string, key []byte) bool {
	t.Helper()
	s, err := cookie.NewSealer(cookie.SealerConfig{Name: identity.DefaultSessionCookie, Keys: [][]byte{key}, Now: fixedClock(fixedNow)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Open(value)
	return err == nil
}

func TestRotateSessionKeys(t *testing.T) {
	keyA, keyB := secretKey(0xa1), secretKey(0xb2)
	srv := newServer(t, identity.Config{SessionKeys: [][]byte{keyA}, Authenticate: cadeLogin})
	old := newClient(t, srv)
	login(t, old)
	oldValue := old.cookies[identity.DefaultSessionCookie].Value
	if !sealedWith(t, oldValue, keyA) {
		t.Fatal("session before rotation is not sealed with key A")
	}

	if err := srv.Rotate(identity.Keys{SessionKeys: [][]byte{keyB, keyA}}); err != nil {
		t.Fatal(err)
	}
	if !hasSession(t, old) {
		t.Error("after rotating to [B, A]: a session sealed with A was refused")
	}
	fresh := newClient(t, srv)
	login(t, fresh)
	if v := fresh.cookies[identity.DefaultSessionCookie].Value; !sealedWith(t, v, keyB) || sealedWith(t, v, keyA) {
		t.Error("after rotating to [B, A]: a new session is not sealed with B")
	}

	if err := srv.Rotate(identity.Keys{SessionKeys: [][]byte{keyB}}); err != nil {
		t.Fatal(err)
	}
	old.cookies[identity.DefaultSessionCookie].Value = oldValue
	if hasSession(t, old) {
		t.Error("after rotating to [B]: a session sealed with A is still accepted")
	}
	if !hasSession(t, fresh) {
		t.Error("after rotating to [B]: a session sealed with B was refused")
	}
}

// A CookieSessions the app made rotates with the Server's copy of it: both
// share the keys.
func TestRotateAppCookieSessions(t *testing.T) {
	keyA, keyB := secretKey(0xa1), secretKey(0xb2)
	cs, err := identity.NewCookieSessions(cookie.SealerConfig{Keys: [][]byte{keyA}})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, identity.Config{Sessions: cs, Authenticate: cadeLogin, Revoker: nil, Logger: (&logbuf.Buffer{}).Logger()})
	if err := cs.RotateKeys(keyB); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv)
	login(t, c)
	if v := c.cookies[identity.DefaultSessionCookie].Value; !sealedWith(t, v, keyB) {
		t.Error("the Server's copy still seals with the key the app rotated away")
	}
	if err := cs.RotateKeys([]byte("short")); err == nil || !strings.Contains(err.Error(), "keys[0]: key is 5 bytes") {
		t.Errorf("short key: got %v", err)
	}
}

// boundWith reports whether an anonymous cookie value verifies, as proven,
// under key alone.
func boundWith(t *testing.T, value string, key []byte) bool {
	t.Helper()
	a, err := cookie.NewAnonymous(cookie.Config{BindingKeys: [][]byte{key}, Now: fixedClock(fixedNow)})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	r.AddCookie(&http.Cookie{Name: cookie.DefaultName, Value: value})
	id, ok := a.PeekID(r)
	return ok && id.Proven
}

func TestRotateBindingKeys(t *testing.T) {
	keyA, keyB := secretKey(0xc3), secretKey(0xd4)
	srv := newServer(t, identity.Config{Anonymous: cookie.Config{BindingKeys: [][]byte{keyA}}})
	old := newClient(t, srv)
	sub := old.token().Subject()
	oldValue := old.cookies[cookie.DefaultName].Value
	if !boundWith(t, oldValue, keyA) {
		t.Fatal("cookie before rotation is not bound with key A")
	}

	if err := srv.Rotate(identity.Keys{BindingKeys: [][]byte{keyB, keyA}}); err != nil {
		t.Fatal(err)
	}
	if got := old.token().Subject(); got != sub {
		t.Errorf("after rotating to [B, A]: sub changed from %s to %s", sub, got)
	}
	if v := old.cookies[cookie.DefaultName].Value; !boundWith(t, v, keyB) {
		t.Error("after rotating to [B, A]: the A-bound cookie was not re-bound with B")
	}
	fresh := newClient(t, srv)
	fresh.token()
	if v := fresh.cookies[cookie.DefaultName].Value; !boundWith(t, v, keyB) || boundWith(t, v, keyA) {
		t.Error("after rotating to [B, A]: a new cookie is not bound with B")
	}

	if err := srv.Rotate(identity.Keys{BindingKeys: [][]byte{keyB}}); err != nil {
		t.Fatal(err)
	}
	stale := newClient(t, srv)
	stale.cookies[cookie.DefaultName] = &http.Cookie{Name: cookie.DefaultName, Value: oldValue}
	if got := stale.token().Subject(); got == sub {
		t.Error("after rotating to [B]: a cookie bound only with A still gives its ID")
	}
	if got := old.token().Subject(); got != sub {
		t.Errorf("after rotating to [B]: the re-bound cookie lost its ID (%s, want %s)", got, sub)
	}
}

func TestRotateRefuses(t *testing.T) {
	binding := secretKey(0xc3)
	tests := map[string]struct {
		cfg     identity.Config
		keys    identity.Keys
		wantMsg string
	}{
		"a short session key": {
			keys:    identity.Keys{SessionKeys: [][]byte{secretKey(2), []byte("0123456789abcdef")}},
			wantMsg: "Rotate: Keys.SessionKeys[1]: key is 16 bytes, need 32",
		},
		"a hex session key": {
			keys:    identity.Keys{SessionKeys: [][]byte{[]byte(strings.Repeat("ab", 32))}},
			wantMsg: "Keys.SessionKeys[0]: key is 64 hex characters",
		},
		"session keys without a session cookie": {
			cfg:     identity.Config{Sessions: identity.ContextSessions{}},
			keys:    identity.Keys{SessionKeys: [][]byte{secretKey(2)}},
			wantMsg: "the Server has no session cookie to rotate",
		},
		"binding keys when binding is off": {
			keys:    identity.Keys{BindingKeys: [][]byte{binding}},
			wantMsg: "Keys.BindingKeys: binding is off",
		},
		"a short binding key": {
			cfg:     identity.Config{Anonymous: cookie.Config{BindingKeys: [][]byte{binding}}},
			keys:    identity.Keys{BindingKeys: [][]byte{[]byte("short")}},
			wantMsg: "Keys.BindingKeys: cookie: Config.BindingKeys[0]",
		},
		"a binding key that is the session key": {
			cfg:     identity.Config{Anonymous: cookie.Config{BindingKeys: [][]byte{binding}}},
			keys:    identity.Keys{BindingKeys: [][]byte{secretKey(1)}},
			wantMsg: "session key 0 is also binding key 0",
		},
		"a weak signing key beside good secrets": {
			keys:    identity.Keys{SigningKeys: []identity.SigningKey{{Key: rsaKey(t, keyWeak)}}, SessionKeys: [][]byte{secretKey(2)}},
			wantMsg: "Rotate: Keys.SigningKeys[0]: RSA key is 1024 bits",
		},
		"good signing keys beside a bad secret": {
			keys:    identity.Keys{SigningKeys: []identity.SigningKey{{Key: rsaKey(t, keyB)}}, SessionKeys: [][]byte{nil}},
			wantMsg: "Keys.SessionKeys[0]: key is 0 bytes",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t, tt.cfg)
			c := newClient(t, srv)
			if tt.cfg.Sessions == nil {
				login(t, c)
			}
			sub, kid := c.token().Subject(), srv.KeyID()
			err := srv.Rotate(tt.keys)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("got %v, want an error saying %q", err, tt.wantMsg)
			}
			// Nothing changed: same signing key, same ID, still logged in.
			if srv.KeyID() != kid {
				t.Errorf("KeyID: got %s, want %s", srv.KeyID(), kid)
			}
			if got := c.token().Subject(); got != sub {
				t.Errorf("sub: got %s, want %s", got, sub)
			}
			if tt.cfg.Sessions == nil && !hasSession(t, c) {
				t.Error("the session was lost")
			}
		})
	}
}

// Requests and rotations run together; go test -race checks that the
// request path reads the keys without a data race.
func TestRotateWhileServing(t *testing.T) {
	srv := newServer(t, identity.Config{Anonymous: cookie.Config{BindingKeys: [][]byte{secretKey(0xc3)}}})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, httptest.NewRequest("GET", "/createJWT", nil))
				if rec.Code != http.StatusOK {
					t.Errorf("GET /createJWT during rotation: got %d", rec.Code)
				}
			}
		})
	}
	for i := range 10 {
		k := identity.Keys{SessionKeys: [][]byte{secretKey(byte(0x10 + i)), secretKey(1)}, BindingKeys: [][]byte{secretKey(byte(0x40 + i)), secretKey(0xc3)}}
		if err := srv.Rotate(k); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}
