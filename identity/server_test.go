package identity_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
	"github.com/webchatid/webchatid/identity/sessionstore"
	"github.com/webchatid/webchatid/internal/logbuf"
)

func TestRotation(t *testing.T) {
	a, b := rsaKey(t, keyA), rsaKey(t, keyB)
	srv := newServer(t, identity.Config{SigningKeys: []identity.SigningKey{{Key: a, KeyID: "old"}}})
	c := newClient(t, srv)
	oldToken := c.do("GET", "/createJWT").Body.String()
	if kid := jwsKeyID(t, oldToken); kid != "old" {
		t.Fatalf("kid before rotation: got %q, want old", kid)
	}

	if err := srv.RotateKeys(identity.SigningKey{Key: b, KeyID: "new"}, identity.SigningKey{Key: a, KeyID: "old"}); err != nil {
		t.Fatal(err)
	}
	newToken := c.do("GET", "/createJWT").Body.String()
	if kid := jwsKeyID(t, newToken); kid != "new" {
		t.Errorf("kid after rotation: got %q, want new", kid)
	}
	// Both verify against the JWKS served now, each by its kid.
	if got := verifyWithJWKS(t, srv, oldToken).Subject(); got != c.cookies[cookie.DefaultName].Value {
		t.Errorf("old token's sub: got %q", got)
	}
	verifyWithJWKS(t, srv, newToken)
	if _, err := claims.Verify(newToken, &a.PublicKey, claims.WithClock(fixedClock(fixedNow))); err == nil {
		t.Error("new token verifies with the old key, want it signed by the new one")
	}

	// Dropping the old key retires its tokens.
	if err := srv.RotateKeys(identity.SigningKey{Key: b, KeyID: "new"}); err != nil {
		t.Fatal(err)
	}
	if _, err := claims.Verify(oldToken, fetchJWKS(t, srv), claims.WithClock(fixedClock(fixedNow))); err == nil {
		t.Error("old token still verifies after its key left the JWKS")
	}

	// A bad rotation is refused and changes nothing.
	err := srv.RotateKeys(identity.SigningKey{Key: rsaKey(t, keyWeak)})
	if err == nil || !strings.Contains(err.Error(), "RotateKeys: keys[0]: RSA key is 1024 bits") || !errors.Is(err, claims.ErrWeakKey) {
		t.Errorf("weak rotation: got %v, want a weak-key error naming keys[0]", err)
	}
	if srv.KeyID() != "new" {
		t.Errorf("KeyID after a refused rotation: got %q, want new", srv.KeyID())
	}
}

func TestEncryptedPayload(t *testing.T) {
	ibm := rsaKey(t, keyIBM)
	pub, err := keys.ParsePublicPEM(readFile(t, pubIBM))
	if err != nil {
		t.Fatal(err)
	}
	for _, scheme := range []claims.Scheme{claims.NodeRSA, claims.OAEPSHA256} {
		t.Run(scheme.String(), func(t *testing.T) {
			srv := newServer(t, identity.Config{IBMPublicKey: pub, PayloadScheme: scheme})
			c := newClient(t, srv)
			decrypt := func(tok jwt.Token) string {
				t.Helper()
				v, ok := tok.Get(claims.UserPayloadClaim)
				s, isString := v.(string)
				if !ok || !isString {
					t.Fatalf("user_payload: got %T, want an encrypted string", v)
				}
				plain, err := scheme.Decrypt(ibm, s)
				if err != nil {
					t.Fatal(err)
				}
				if scheme == claims.NodeRSA {
					viaHelper, err := claims.DecryptUserPayload(ibm, s)
					if err != nil || !bytes.Equal(viaHelper, plain) {
						t.Fatalf("DecryptUserPayload: got %s, %v", viaHelper, err)
					}
				}
				return string(plain)
			}
			anon := c.token()
			var m map[string]any
			if err := json.Unmarshal([]byte(decrypt(anon)), &m); err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, m, `{"name":"Anonymous","custom_user_id":"`+anon.Subject()+`"}`)
			c.do("POST", "/authenticate")
			if err := json.Unmarshal([]byte(decrypt(c.token())), &m); err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, m, `{"name":"Cade","custom_user_id":"cade-id"}`)
		})
	}
}

func TestSessionExtraGoesIntoPayload(t *testing.T) {
	src := identity.SessionSourceFunc(func(*http.Request) (*identity.SessionInfo, error) {
		return &identity.SessionInfo{UserName: "Ada", CustomUserID: "u-1", Extra: map[string]any{"plan": "gold", "age": 36}}, nil
	})
	srv := newServer(t, identity.Config{Sessions: src})
	jsonEqual(t, payload(t, newClient(t, srv).token()), `{"name":"Ada","custom_user_id":"u-1","plan":"gold","age":36}`)
}

func TestOrchestrate(t *testing.T) {
	ibm := rsaKey(t, keyIBM)
	sso := identity.SessionSourceFunc(func(r *http.Request) (*identity.SessionInfo, error) {
		if r.Header.Get("X-User") == "" {
			return nil, nil
		}
		return &identity.SessionInfo{UserName: "Ada", CustomUserID: "u-1", SSOToken: "sso-secret"}, nil
	})
	withContext := func(ctx map[string]any) func(*http.Request, *claims.Builder, *identity.SessionInfo) error {
		return func(_ *http.Request, b *claims.Builder, _ *identity.SessionInfo) error {
			b.Context(ctx)
			return nil
		}
	}
	base := identity.Config{
		Target:       identity.Orchestrate,
		SigningKeys:  []identity.SigningKey{{Key: rsaKey(t, key4096)}},
		IBMPublicKey: &ibm.PublicKey,
		Sessions:     sso,
	}

	t.Run("TTL above 7100 s is a config error", func(t *testing.T) {
		cfg := base
		cfg.TTL = 7101 * time.Second
		cfg.Logger = discardLogger()
		_, err := identity.New(cfg)
		if err == nil || !strings.Contains(err.Error(), "identity: Config.TTL: 1h58m21s is longer than 1h58m20s") {
			t.Errorf("got %v, want a Config.TTL error", err)
		}
	})
	t.Run("exp is at most 7100 s after iat", func(t *testing.T) {
		cfg := base
		cfg.TTL = identity.OrchestrateMaxTTL
		tok := newClient(t, newServer(t, cfg)).token()
		if d := tok.Expiration().Sub(tok.IssuedAt()); d > identity.OrchestrateMaxTTL {
			t.Errorf("exp - iat: got %v, want at most %v", d, identity.OrchestrateMaxTTL)
		}
	})
	t.Run("user_payload is the encrypted sso_token", func(t *testing.T) {
		srv := newServer(t, base)
		tok := newClient(t, srv).do("GET", "/createJWT", "X-User", "ada")
		parsed := verifyWithJWKS(t, srv, tok.Body.String())
		v, _ := parsed.Get(claims.UserPayloadClaim)
		s, _ := v.(string)
		plain, err := claims.DecryptUserPayload(ibm, s)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(plain); got != `{"sso_token":"sso-secret"}` {
			t.Errorf("user_payload: got %s", got)
		}
	})
	t.Run("anonymous visitors get no user_payload", func(t *testing.T) {
		tok := newClient(t, newServer(t, base)).token()
		if _, ok := tok.Get(claims.UserPayloadClaim); ok {
			t.Error("got a user_payload for an anonymous Orchestrate visitor")
		}
	})
	t.Run("without IBM's key the sso_token is never sent", func(t *testing.T) {
		cfg := base
		cfg.IBMPublicKey = nil
		srv := newServer(t, cfg)
		rec := newClient(t, srv).do("GET", "/createJWT", "X-User", "ada")
		if p := payload(t, verifyWithJWKS(t, srv, rec.Body.String())); p != nil {
			t.Errorf("got user_payload %v, want none without encryption", p)
		}
	})
	t.Run("context passes", func(t *testing.T) {
		cfg := base
		cfg.Claims = withContext(map[string]any{"plan": "gold"})
		tok := newClient(t, newServer(t, cfg)).token()
		v, ok := tok.Get(claims.ContextClaim)
		if !ok {
			t.Fatal("no context claim")
		}
		jsonEqual(t, v, `{"plan":"gold"}`)
	})
	for _, name := range []string{"wxo_user_name", "WXO_x"} {
		t.Run("context name "+name+" is refused", func(t *testing.T) {
			cfg := base
			cfg.Claims = withContext(map[string]any{name: "x"})
			srv := newServer(t, cfg)
			_, _, err := srv.Token(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			if !errors.Is(err, identity.ErrClaims) || !strings.Contains(err.Error(), "wxo_") {
				t.Errorf("got %v, want ErrClaims about wxo_", err)
			}
			if rec := newClient(t, srv).do("GET", "/createJWT"); rec.Code != 500 {
				t.Errorf("got status %d, want 500", rec.Code)
			}
		})
	}
	t.Run("WebChat allows wxo_ names", func(t *testing.T) {
		newClient(t, newServer(t, identity.Config{Claims: withContext(map[string]any{"wxo_x": 1})})).token()
	})
	t.Run("a 2048-bit key gets a warning", func(t *testing.T) {
		logs := &logbuf.Buffer{}
		cfg := base
		cfg.SigningKeys = []identity.SigningKey{{Key: rsaKey(t, keyA)}}
		cfg.Logger = logs.Logger()
		newServer(t, cfg)
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "4096") {
			t.Errorf("got log %q, want a warning recommending 4096 bits", logs.String())
		}
	})
}

func TestStrictModes(t *testing.T) {
	tests := []struct {
		name       string
		cfg        identity.Config
		wantStatus int
		wantStats  identity.Stats
	}{
		{"failing session source is anonymous", identity.Config{Sessions: failingSource}, 200, identity.Stats{SessionErrors: 1}},
		{"failing session source with StrictSessions is 503", identity.Config{Sessions: failingSource, StrictSessions: true}, 503, identity.Stats{SessionErrors: 1}},
		{"failing ledger still issues", identity.Config{Ledger: &fakeLedger{fail: true}}, 200, identity.Stats{LedgerErrors: 1}},
		{"failing ledger with StrictLedger is 503", identity.Config{Ledger: &fakeLedger{fail: true}, StrictLedger: true}, 503, identity.Stats{LedgerErrors: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logbuf.Buffer{}
			tt.cfg.Logger = logs.Logger()
			srv := newServer(t, tt.cfg)
			rec := newClient(t, srv).do("GET", "/createJWT", "Accept", "application/json")
			if rec.Code != tt.wantStatus {
				t.Fatalf("got status %d (%s), want %d", rec.Code, rec.Body.String(), tt.wantStatus)
			}
			if tt.wantStatus == 503 && rec.Body.String() != `{"error":"temporarily_unavailable","error_description":"service temporarily unavailable"}` {
				t.Errorf("body: got %s", rec.Body.String())
			}
			got := srv.Stats()
			if got := (identity.Stats{SessionErrors: got.SessionErrors, LedgerErrors: got.LedgerErrors, Panics: got.Panics}); got != tt.wantStats {
				t.Errorf("Stats: got %+v, want %+v", got, tt.wantStats)
			}
			if !strings.Contains(logs.String(), "unreachable") {
				t.Errorf("got log %q, want the cause logged", logs.String())
			}
		})
	}
}

func TestLedgerRecordsIDsAndLinks(t *testing.T) {
	l := &fakeLedger{}
	srv := newServer(t, identity.Config{Ledger: l})
	c := newClient(t, srv)
	anon := c.token().Subject()
	c.token()
	c.token()
	records, links := l.counts()
	if len(records) != 1 || records[0] != anon || len(links) != 0 {
		t.Fatalf("after three anonymous tokens: got records %v links %v, want one record of %s", records, links, anon)
	}
	c.do("POST", "/authenticate")
	c.token()
	c.token()
	_, links = l.counts()
	if want := anon + ">cade-id"; len(links) != 1 || links[0] != want {
		t.Errorf("after login and two tokens: got links %v, want one %q", links, want)
	}
}

// With Config.Subject the sub IBM sees is the hook's value, so that is what
// the ledger must remember for an erasure request, not the anonymous ID.
func TestLedgerRecordsTheSubjectHooksSub(t *testing.T) {
	l := &fakeLedger{}
	srv := newServer(t, identity.Config{Ledger: l, Subject: func(_ *http.Request, anonID string, s *identity.SessionInfo) (string, error) {
		if s == nil {
			return anonID, nil
		}
		return "user-" + s.CustomUserID, nil
	}})
	c := newClient(t, srv)
	anon := c.token().Subject()
	c.do("POST", "/authenticate")
	if got := c.token().Subject(); got != "user-cade-id" {
		t.Fatalf("got sub %q after login, want user-cade-id", got)
	}
	records, links := l.counts()
	if len(records) != 2 || records[0] != anon || records[1] != "user-cade-id" {
		t.Errorf("got records %v, want the anonymous ID then user-cade-id", records)
	}
	if want := "user-cade-id>cade-id"; len(links) != 1 || links[0] != want {
		t.Errorf("got links %v, want one %q", links, want)
	}
}

func TestStrictLedgerRefusesLoginBeforeStoringIt(t *testing.T) {
	l := &fakeLedger{}
	srv := newServer(t, identity.Config{Ledger: l, StrictLedger: true})
	c := newClient(t, srv)
	c.token()
	l.mu.Lock()
	l.fail = true
	l.mu.Unlock()
	if rec := c.do("POST", "/authenticate"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("got status %d, want 503", rec.Code)
	}
	if _, ok := c.cookies[identity.DefaultSessionCookie]; ok {
		t.Error("a login the ledger could not link was stored anyway")
	}
}

func TestSubjectHook(t *testing.T) {
	tests := []struct {
		name       string
		subject    func(*http.Request, string, *identity.SessionInfo) (string, error)
		wantStatus int
		wantSub    string
	}{
		{"own user ID", func(*http.Request, string, *identity.SessionInfo) (string, error) { return "user-42", nil }, 200, "user-42"},
		{"login required", func(_ *http.Request, _ string, s *identity.SessionInfo) (string, error) {
			if s == nil {
				return "", fmt.Errorf("no session: %w", identity.ErrUnauthenticated)
			}
			return s.CustomUserID, nil
		}, 401, ""},
		{"a sub with a space is refused", func(*http.Request, string, *identity.SessionInfo) (string, error) { return "Ada Lovelace", nil }, 500, ""},
		{"a sub with CRLF is refused", func(*http.Request, string, *identity.SessionInfo) (string, error) { return "a\r\nb", nil }, 500, ""},
		{"a sub with = is refused", func(*http.Request, string, *identity.SessionInfo) (string, error) { return "a=b", nil }, 500, ""},
		{"a failing hook is 500", func(*http.Request, string, *identity.SessionInfo) (string, error) { return "", errTest }, 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, newServer(t, identity.Config{Subject: tt.subject}))
			rec := c.do("GET", "/createJWT")
			if rec.Code != tt.wantStatus {
				t.Fatalf("got status %d, want %d", rec.Code, tt.wantStatus)
			}
			if tt.wantSub != "" {
				if got := verifyWithJWKS(t, c.h, rec.Body.String()).Subject(); got != tt.wantSub {
					t.Errorf("sub: got %q, want %q", got, tt.wantSub)
				}
			}
		})
	}
}

func TestClaimsHook(t *testing.T) {
	tests := []struct {
		name       string
		hook       func(*http.Request, *claims.Builder, *identity.SessionInfo) error
		wantStatus int
	}{
		{"adds context", func(_ *http.Request, b *claims.Builder, _ *identity.SessionInfo) error {
			b.Context(map[string]any{"page": "checkout"})
			return nil
		}, 200},
		{"changing sub is refused", func(_ *http.Request, b *claims.Builder, _ *identity.SessionInfo) error {
			b.Subject("someone-else")
			return nil
		}, 500},
		{"a TTL beyond the target's limit is refused", func(_ *http.Request, b *claims.Builder, _ *identity.SessionInfo) error {
			b.MaxTTL(48 * time.Hour).TTL(48 * time.Hour)
			return nil
		}, 500},
		{"ErrUnauthenticated is 401", func(*http.Request, *claims.Builder, *identity.SessionInfo) error {
			return identity.ErrUnauthenticated
		}, 401},
		{"other errors are 500", func(*http.Request, *claims.Builder, *identity.SessionInfo) error { return errTest }, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newClient(t, newServer(t, identity.Config{Claims: tt.hook})).do("GET", "/createJWT")
			if rec.Code != tt.wantStatus {
				t.Errorf("got status %d (%q), want %d", rec.Code, rec.Body.String(), tt.wantStatus)
			}
		})
	}
}

func TestInvalidSessionFromSourceIs500(t *testing.T) {
	for name, info := range map[string]*identity.SessionInfo{
		"empty CustomUserID":     {UserName: "x"},
		"reserved Extra key":     {CustomUserID: "u", Extra: map[string]any{"custom_user_id": "v"}},
		"reserved sso_token key": {CustomUserID: "u", Extra: map[string]any{"sso_token": "v"}},
	} {
		t.Run(name, func(t *testing.T) {
			src := identity.SessionSourceFunc(func(*http.Request) (*identity.SessionInfo, error) { return info, nil })
			srv := newServer(t, identity.Config{Sessions: src})
			_, _, err := srv.Token(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			if !errors.Is(err, identity.ErrInvalidSession) {
				t.Errorf("got %v, want ErrInvalidSession", err)
			}
		})
	}
}

type configCase struct {
	name    string
	mutate  func(*identity.Config)
	wantErr string // prefix of the error text; "" means New succeeds
}

func TestNewValidatesConfig(t *testing.T) {
	ec, err := keys.LoadPrivateFile("testdata/" + keyEC)
	if err != nil {
		t.Fatal(err)
	}
	ecPub := ec.Public()
	weakPub := &rsaKey(t, keyWeak).PublicKey
	tests := []configCase{
		{"zero config with a key is valid", func(*identity.Config) {}, ""},
		{"no signing key", func(c *identity.Config) { c.SigningKeys = nil }, "identity: Config.SigningKeys: at least one signing key is required"},
		{"nil key", func(c *identity.Config) { c.SigningKeys = []identity.SigningKey{{}} }, "identity: Config.SigningKeys[0]: Key is nil"},
		{"weak key", func(c *identity.Config) { c.SigningKeys = []identity.SigningKey{{Key: rsaKey(t, keyWeak)}} }, "identity: Config.SigningKeys[0]: RSA key is 1024 bits, need at least 2048"},
		{"weak verify-only key", func(c *identity.Config) {
			c.SigningKeys = append(c.SigningKeys, identity.SigningKey{Key: rsaKey(t, keyWeak)})
		}, "identity: Config.SigningKeys[1]: RSA key is 1024 bits, need at least 2048"},
		{"EC key", func(c *identity.Config) { c.SigningKeys = []identity.SigningKey{{Key: ec}} }, "identity: Config.SigningKeys[0]: is a *ecdsa.PublicKey key, need RSA"},
		{"unsafe kid", func(c *identity.Config) { c.SigningKeys[0].KeyID = "a b" }, "identity: Config.SigningKeys[0]: KeyID:"},
		{"duplicate kid", func(c *identity.Config) {
			c.SigningKeys = []identity.SigningKey{{Key: rsaKey(t, keyA), KeyID: "k"}, {Key: rsaKey(t, keyB), KeyID: "k"}}
		}, `identity: Config.SigningKeys[1]: key ID "k" is already used`},
		{"same key twice", func(c *identity.Config) { c.SigningKeys = append(c.SigningKeys, c.SigningKeys[0]) }, "identity: Config.SigningKeys[1]: key ID"},
		{"mismatched signer", func(c *identity.Config) {
			c.SigningKeys = []identity.SigningKey{{Key: mismatchedSigner{rsaKey(t, keyA), &rsaKey(t, keyB).PublicKey}}}
		}, "identity: Config.SigningKeys[0]: sign-then-verify self-test failed"},
		{"IBM key of the wrong type", func(c *identity.Config) { c.IBMPublicKey = ecPub }, "identity: Config.IBMPublicKey: is a *ecdsa.PublicKey, need an *rsa.PublicKey"},
		{"IBM private key instead of public", func(c *identity.Config) { c.IBMPublicKey = rsaKey(t, keyIBM) }, "identity: Config.IBMPublicKey: is a *rsa.PrivateKey"},
		{"weak IBM key", func(c *identity.Config) { c.IBMPublicKey = weakPub }, "identity: Config.IBMPublicKey: RSA key is 1024 bits, need at least 2048"},
		{"unknown payload scheme", func(c *identity.Config) { c.PayloadScheme = 7 }, "identity: Config.PayloadScheme: unknown scheme 7"},
		{"unknown target", func(c *identity.Config) { c.Target = 9 }, "identity: Config.Target: unknown target 9"},
		{"negative TTL", func(c *identity.Config) { c.TTL = -time.Second }, "identity: Config.TTL: -1s is shorter than 1s"},
		{"TTL under a second", func(c *identity.Config) { c.TTL = time.Millisecond }, "identity: Config.TTL: 1ms is shorter than 1s"},
		{"TTL over a day", func(c *identity.Config) { c.TTL = 25 * time.Hour }, "identity: Config.TTL: 25h0m0s is longer than 24h0m0s, the most the WebChat target accepts"},
		{"Orchestrate TTL over 7100 s", func(c *identity.Config) { c.Target = identity.Orchestrate; c.TTL = 2 * time.Hour }, "identity: Config.TTL: 2h0m0s is longer than 1h58m20s, the most the Orchestrate target accepts"},
		{"Issuer with a newline", func(c *identity.Config) { c.Issuer = "a\nb" }, "identity: Config.Issuer:"},
		{"short session key", func(c *identity.Config) { c.SessionKeys = [][]byte{secretKey(1), make([]byte, 16)} }, "identity: Config.SessionKeys[1]: key is 16 bytes, need 32 random bytes"},
		{"Sessions and SessionKeys", func(c *identity.Config) { c.Sessions = identity.ContextSessions{} }, "identity: Config.SessionKeys: set either Sessions or SessionKeys"},
		{"Authenticate without a store", func(c *identity.Config) { c.SessionKeys = nil }, "identity: Config.Authenticate: needs a session store"},
		{"Authenticate with a source that cannot store", func(c *identity.Config) { c.SessionKeys = nil; c.Sessions = identity.ContextSessions{} }, "identity: Config.Authenticate: Config.Sessions (type identity.ContextSessions) cannot keep a login: drop Authenticate"},
		{"hex text as a session key", func(c *identity.Config) { c.SessionKeys = [][]byte{[]byte(strings.Repeat("ab", 32))} }, "identity: Config.SessionKeys[0]: key is 64 hex characters: decode it"},
		{"base64 text as a session key", func(c *identity.Config) { c.SessionKeys = [][]byte{[]byte(strings.Repeat("A", 43) + "=")} }, "identity: Config.SessionKeys[0]: key is 44 characters of base64: decode it"},
		{"all-zero session key", func(c *identity.Config) { c.SessionKeys = [][]byte{make([]byte, 32)} }, "identity: Config.SessionKeys[0]: key is all zeros"},
		{"CORS wildcard", func(c *identity.Config) { c.AllowedOrigins = []string{"*"} }, `identity: Config.AllowedOrigins[0]: "*" is not allowed`},
		{"CORS origin with a path", func(c *identity.Config) { c.AllowedOrigins = []string{"https://a.example", "https://b.example/"} }, "identity: Config.AllowedOrigins[1]: invalid origin: path is not allowed"},
		{"CORS origin without scheme", func(c *identity.Config) { c.AllowedOrigins = []string{"a.example"} }, "identity: Config.AllowedOrigins[0]: invalid origin: scheme must be http or https"},
		{"trusted origin with a query", func(c *identity.Config) { c.TrustedOrigins = []string{"https://a.example?x"} }, "identity: Config.TrustedOrigins[0]: invalid origin: query"},
		{"anonymous cookie config", func(c *identity.Config) { c.Anonymous.MaxAge = -time.Hour }, "identity: Config.Anonymous: cookie: Config.MaxAge"},
		{"nil *rsa.PrivateKey", func(c *identity.Config) { c.SigningKeys = []identity.SigningKey{{Key: (*rsa.PrivateKey)(nil)}} }, "identity: Config.SigningKeys[0]: Key is nil"},
		{"zero CookieSessions", func(c *identity.Config) { c.SessionKeys = nil; c.Sessions = &identity.CookieSessions{} }, "identity: Config.Sessions: a *CookieSessions must be made by NewCookieSessions"},
		{"nil *CookieSessions", func(c *identity.Config) { c.SessionKeys = nil; c.Sessions = (*identity.CookieSessions)(nil) }, "identity: Config.Sessions: a *CookieSessions must be made by NewCookieSessions"},
		{"nil SessionSourceFunc", func(c *identity.Config) {
			c.SessionKeys, c.Authenticate = nil, nil
			c.Sessions = identity.SessionSourceFunc(nil)
		}, "identity: Config.Sessions: nil SessionSourceFunc"},
		{"anonymous cookie named like the session cookie", func(c *identity.Config) { c.Anonymous.Name = identity.DefaultSessionCookie }, `identity: Config.Anonymous.Name: "WEBCHATID-SESSION" is also the session cookie's name (Config.SessionCookie.Name)`},
		{"session cookie named like the anonymous cookie", func(c *identity.Config) {
			cs, err := identity.NewCookieSessions(cookie.SealerConfig{Name: cookie.DefaultName, Keys: [][]byte{secretKey(1)}})
			if err != nil {
				t.Fatal(err)
			}
			c.SessionKeys, c.Sessions = nil, cs
		}, `identity: Config.Anonymous.Name: "ANONYMOUS-USER-ID" is also the session cookie's name (Config.Sessions, a *identity.CookieSessions)`},
		{"chained session cookie named like the anonymous cookie", func(c *identity.Config) {
			st, err := sessionstore.New(sessionstore.Config{Backend: sessionstore.NewMemory(), Name: cookie.DefaultName})
			if err != nil {
				t.Fatal(err)
			}
			c.SessionKeys, c.Authenticate = nil, nil
			c.Sessions = identity.Chain(identity.ContextSessions{}, identity.Chain(st))
		}, `identity: Config.Anonymous.Name: "ANONYMOUS-USER-ID" is also the session cookie's name (Config.Sessions, a source in its identity.Chain)`},
		{"server-side session cookie named like the anonymous cookie", func(c *identity.Config) {
			st, err := sessionstore.New(sessionstore.Config{Backend: sessionstore.NewMemory(), Name: cookie.DefaultName})
			if err != nil {
				t.Fatal(err)
			}
			c.SessionKeys, c.Sessions = nil, st
		}, `identity: Config.Anonymous.Name: "ANONYMOUS-USER-ID" is also the session cookie's name (Config.Sessions, a *sessionstore.Store)`},
		{"anonymous cookie named like the server-side session cookie", func(c *identity.Config) {
			st, err := sessionstore.New(sessionstore.Config{Backend: sessionstore.NewMemory()})
			if err != nil {
				t.Fatal(err)
			}
			c.SessionKeys, c.Sessions = nil, st
			c.Anonymous.Name = identity.DefaultSessionCookie
		}, `identity: Config.Anonymous.Name: "WEBCHATID-SESSION" is also the session cookie's name (Config.Sessions, a *sessionstore.Store)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := identity.Config{
				SigningKeys:  []identity.SigningKey{{Key: rsaKey(t, keyA)}},
				SessionKeys:  [][]byte{secretKey(1)},
				Authenticate: cadeLogin,
				Logger:       discardLogger(),
			}
			tt.mutate(&cfg)
			_, err := identity.New(cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Errorf("got error %v, want one starting %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewDoesNotTouchTheCallersConfig(t *testing.T) {
	origins := []string{"HTTPS://A.example:443"}
	keys := []identity.SigningKey{{Key: rsaKey(t, keyA)}}
	srv := newServer(t, identity.Config{AllowedOrigins: origins, SigningKeys: keys})
	if origins[0] != "HTTPS://A.example:443" {
		t.Errorf("New rewrote the caller's AllowedOrigins to %q", origins[0])
	}
	keys[0] = identity.SigningKey{Key: rsaKey(t, keyB)}
	if want, _ := identityKeyID(rsaKey(t, keyA)); srv.KeyID() != want {
		t.Error("changing the caller's SigningKeys after New changed the Server")
	}
}

func TestNewLogsKeyFingerprints(t *testing.T) {
	logs := &logbuf.Buffer{}
	newServer(t, identity.Config{Logger: logs.Logger(), SigningKeys: []identity.SigningKey{{Key: rsaKey(t, keyA), KeyID: "a"}, {Key: rsaKey(t, keyB), KeyID: "b"}}})
	out := logs.String()
	for _, want := range []string{
		"role=active kid=a alg=RS256 bits=2048 sha256=" + fingerprintA,
		"role=verify-only kid=b",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("got log %q, want it to contain %q", out, want)
		}
	}
	if strings.Contains(out, "PRIVATE") {
		t.Error("the log contains key material")
	}
}

// mismatchedSigner signs with one key and claims another's public half, as
// a misconfigured KMS key would.
type mismatchedSigner struct {
	*rsa.PrivateKey
	pub *rsa.PublicKey
}

func (m mismatchedSigner) Public() crypto.PublicKey { return m.pub }

func TestConcurrentTokenRequests(t *testing.T) {
	// Every request must get a token: 200 at once would overflow the
	// default admission queue on a small machine (admission_test.go).
	srv := newServer(t, identity.Config{Ledger: &fakeLedger{}, SigningKeys: []identity.SigningKey{{Key: rsaKey(t, keyA), KeyID: "a"}},
		Admission: identity.AdmissionConfig{Disabled: true}})
	logged := newClient(t, srv)
	logged.token()
	logged.do("POST", "/authenticate")
	const n = 200
	tokens := make([]string, n)
	subs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest("GET", "/createJWT", nil)
			if i%2 == 0 { // half logged in, half new visitors
				for _, ck := range logged.cookies {
					req.AddCookie(ck)
				}
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code == http.StatusOK {
				tokens[i] = rec.Body.String()
			}
			if ck := rec.Result().Cookies(); len(ck) > 0 {
				subs[i], _, _ = strings.Cut(ck[0].Value, ".") // the ID, without its binding MAC
			}
		}()
		if i == n/2 {
			wg.Add(1)
			go func() { // a rotation in the middle of the traffic
				defer wg.Done()
				if err := srv.RotateKeys(identity.SigningKey{Key: rsaKey(t, keyB), KeyID: "b"}, identity.SigningKey{Key: rsaKey(t, keyA), KeyID: "a"}); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	set := fetchJWKS(t, srv)
	seen := map[string]bool{}
	for i, tok := range tokens {
		if tok == "" {
			t.Fatalf("request %d failed", i)
		}
		parsed, err := claims.Verify(tok, set, claims.WithClock(fixedClock(fixedNow)))
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		p := payload(t, parsed)
		if i%2 == 0 {
			if id, _, _ := strings.Cut(logged.cookies[cookie.DefaultName].Value, "."); parsed.Subject() != id || p["custom_user_id"] != "cade-id" {
				t.Errorf("token %d: got sub %q payload %v, want the logged-in user's", i, parsed.Subject(), p)
			}
			continue
		}
		if parsed.Subject() != subs[i] || p["custom_user_id"] != subs[i] {
			t.Errorf("token %d: got sub %q payload %v, want its own cookie's ID %q", i, parsed.Subject(), p, subs[i])
		}
		if seen[subs[i]] {
			t.Errorf("token %d: anonymous ID issued twice", i)
		}
		seen[subs[i]] = true
	}
}

// mounting is how an app could place the endpoints: the test drives each
// through GET <prefix>/createJWT, POST <prefix>/authenticate and GET
// <prefix>/.well-known/jwks.json.
func TestMounting(t *testing.T) {
	srv := newServer(t, identity.Config{})
	stamp := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Middleware", "ran")
			next.ServeHTTP(w, r)
		})
	}
	tests := []struct {
		name   string
		prefix string
		h      func() http.Handler
	}{
		{"Server as the handler", "", func() http.Handler { return srv }},
		{"on a ServeMux under a prefix with StripPrefix", "/auth", func() http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/auth/", http.StripPrefix("/auth", srv.Handler()))
			mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "home") })
			return mux
		}},
		{"standalone handlers on method patterns", "/api", func() http.Handler {
			mux := http.NewServeMux()
			mux.Handle("GET /api/createJWT", srv.TokenHandler())
			mux.Handle("POST /api/authenticate", srv.AuthenticateHandler())
			mux.Handle("GET /api/.well-known/jwks.json", srv.JWKSHandler())
			return mux
		}},
		{"wrapped in other middleware", "/auth", func() http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/auth/", stamp(http.StripPrefix("/auth", srv.Handler())))
			return http.TimeoutHandler(mux, time.Minute, "timeout")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.h())
			rec := c.do("GET", tt.prefix+"/createJWT")
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s/createJWT: got status %d", tt.prefix, rec.Code)
			}
			before, err := claims.Verify(rec.Body.String(), fetchJWKS(t, srv), claims.WithClock(fixedClock(fixedNow)))
			if err != nil {
				t.Fatal(err)
			}
			if rec := c.do("POST", tt.prefix+"/authenticate"); rec.Code != http.StatusNoContent {
				t.Fatalf("POST %s/authenticate: got status %d", tt.prefix, rec.Code)
			}
			rec = c.do("GET", tt.prefix+"/createJWT")
			after, err := claims.Verify(rec.Body.String(), fetchJWKS(t, srv), claims.WithClock(fixedClock(fixedNow)))
			if err != nil {
				t.Fatal(err)
			}
			if after.Subject() != before.Subject() || payload(t, after)["custom_user_id"] != "cade-id" {
				t.Errorf("after login: got sub %q payload %v", after.Subject(), payload(t, after))
			}
			if rec := c.do("GET", tt.prefix+"/.well-known/jwks.json"); rec.Code != http.StatusOK {
				t.Errorf("JWKS: got status %d", rec.Code)
			}
			if strings.Contains(tt.name, "middleware") && rec.Header().Get("X-Middleware") != "ran" {
				t.Error("the outer middleware did not run")
			}
		})
	}
}

// headerAuth is an app's own authentication middleware (a trusted header set
// by its proxy) that marks every request with WithSession, anonymous ones
// with nil, or only the logged-in ones when markAnonymous is false.
func headerAuth(markAnonymous bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var info *identity.SessionInfo
			if u := r.Header.Get("X-Authenticated-User"); u != "" {
				info = &identity.SessionInfo{UserName: u, CustomUserID: "id-" + u}
			}
			if info != nil || markAnonymous {
				r = r.WithContext(identity.WithSession(r.Context(), info))
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestContextSessionsMiddleware(t *testing.T) {
	srv := newServer(t, identity.Config{Sessions: identity.ContextSessions{}})
	c := newClient(t, headerAuth(true)(srv))
	anon := c.token()
	rec := c.do("GET", "/createJWT", "X-Authenticated-User", "ada")
	tok := verifyWithJWKS(t, srv, rec.Body.String())
	if tok.Subject() != anon.Subject() {
		t.Errorf("sub: got %q, want %q", tok.Subject(), anon.Subject())
	}
	jsonEqual(t, payload(t, tok), `{"name":"ada","custom_user_id":"id-ada"}`)
}

// A Server with ContextSessions that the app's middleware does not wrap sees
// everyone as anonymous; it must say so, once, naming the fix.
func TestContextSessionsUnmarkedRequestWarnsOnce(t *testing.T) {
	noMiddleware := func(h http.Handler) http.Handler { return h }
	tests := []struct {
		name     string
		sessions identity.SessionSource
		wrap     func(http.Handler) http.Handler
		warnings int
	}{
		{"handler not wrapped by the middleware", identity.ContextSessions{}, noMiddleware, 1},
		{"pointer to ContextSessions, not wrapped", &identity.ContextSessions{}, noMiddleware, 1},
		{"middleware marks only logged-in requests", identity.ContextSessions{}, headerAuth(false), 1},
		{"middleware marks every request", identity.ContextSessions{}, headerAuth(true), 0},
		{"a SessionSourceFunc needs no mark", identity.SessionSourceFunc(func(*http.Request) (*identity.SessionInfo, error) { return nil, nil }), noMiddleware, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logbuf.Buffer
			srv := newServer(t, identity.Config{Sessions: tt.sessions, Logger: logs.Logger()})
			c := newClient(t, tt.wrap(srv))
			for range 3 {
				c.token()
				c.do("GET", "/session")
			}
			c.do("GET", "/createJWT", "X-Authenticated-User", "ada")
			got := strings.Count(logs.String(), "without identity.WithSession in its context")
			if got != tt.warnings {
				t.Fatalf("got %d warnings about unmarked requests, want %d; log:\n%s", got, tt.warnings, logs.String())
			}
			if got == 0 {
				return
			}
			for _, want := range []string{"level=WARN", "wrap srv.Handler()", "WithSession(ctx, nil)", "SessionSourceFunc", "path=/createJWT"} {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("the warning does not say %q; log:\n%s", want, logs.String())
				}
			}
		})
	}
}

func TestTLSRoundTripWithCookieJar(t *testing.T) {
	srv := newServer(t, identity.Config{})
	ts := httptest.NewTLSServer(srv)
	defer ts.Close()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := ts.Client()
	client.Jar = jar
	get := func() jwt.Token {
		t.Helper()
		resp, err := client.Get(ts.URL + "/createJWT")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		for _, ck := range resp.Cookies() {
			if !ck.Secure || !ck.HttpOnly {
				t.Errorf("cookie %s over TLS: got Secure=%v HttpOnly=%v, want both", ck.Name, ck.Secure, ck.HttpOnly)
			}
		}
		return verifyWithJWKS(t, srv, body(t, resp.Body))
	}
	post := func(path string) {
		t.Helper()
		resp, err := client.Post(ts.URL+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("POST %s: got status %d, want 204", path, resp.StatusCode)
		}
	}
	first := get()
	jsonEqual(t, payload(t, first), `{"name":"Anonymous","custom_user_id":"`+first.Subject()+`"}`)
	post("/authenticate")
	in := get()
	if in.Subject() != first.Subject() {
		t.Errorf("sub after login: got %q, want %q", in.Subject(), first.Subject())
	}
	jsonEqual(t, payload(t, in), `{"name":"Cade","custom_user_id":"cade-id"}`)
	post("/logout")
	out := get()
	if out.Subject() != first.Subject() {
		t.Errorf("sub after logout: got %q, want %q", out.Subject(), first.Subject())
	}
	jsonEqual(t, payload(t, out), `{"name":"Anonymous","custom_user_id":"`+first.Subject()+`"}`)
}

func TestLogsNeverHoldSecrets(t *testing.T) {
	logs := &logbuf.Buffer{}
	pub, err := keys.ParsePublicPEM(readFile(t, pubIBM))
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, identity.Config{
		Logger: logs.Logger(), IBMPublicKey: pub, Ledger: &fakeLedger{fail: true},
		Claims: func(r *http.Request, _ *claims.Builder, _ *identity.SessionInfo) error {
			if r.Header.Get("X-Fail") != "" {
				return errTest
			}
			return nil
		},
	})
	c := newClient(t, srv)
	var secrets []string
	secrets = append(secrets, c.do("GET", "/createJWT").Body.String())
	c.do("POST", "/authenticate")
	secrets = append(secrets, c.do("GET", "/createJWT").Body.String())
	c.do("GET", "/createJWT", "X-Fail", "1")
	c.do("POST", "/authenticate", "Sec-Fetch-Site", "cross-site")
	for _, ck := range c.cookies {
		secrets = append(secrets, ck.Value)
	}
	out := logs.String()
	if !strings.Contains(out, "ledger write failed") || !strings.Contains(out, "test failure") {
		t.Fatalf("got log %q, want the failures logged", out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log contains a token or cookie value")
		}
	}
	for _, s := range []string{"Cade", "cade-id"} {
		if strings.Contains(out, s) {
			t.Errorf("the log contains payload content %q", s)
		}
	}
}

// JWKS is the served document, and PublicKeys its keys in the same order.
func TestPublicKeysMatchesJWKS(t *testing.T) {
	srv := newServer(t, identity.Config{SigningKeys: []identity.SigningKey{{Key: rsaKey(t, keyA)}, {Key: rsaKey(t, keyB)}}})
	a := srv.JWKS()
	b, _ := json.Marshal(fetchJWKS(t, srv))
	if !bytes.Equal(a, b) {
		t.Errorf("JWKS: got %s, want the served %s", a, b)
	}
	pubs := srv.PublicKeys()
	if len(pubs) != 2 || !rsaKey(t, keyA).PublicKey.Equal(pubs[0]) || !rsaKey(t, keyB).PublicKey.Equal(pubs[1]) {
		t.Errorf("PublicKeys: got %d keys, want keys a then b", len(pubs))
	}
}
