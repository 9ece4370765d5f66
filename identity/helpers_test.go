package identity_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/revocation/memrevoke"
)

// Fixed test keys (testdata/, made with openssl genrsa; see keys/keys_test.go):
// a and b are 2048-bit signing keys, ibm the stand-in for IBM's payload key.
const (
	keyA    = "rsa2048-a.pem"       // PKCS#1
	keyB    = "rsa2048-b.pkcs8.pem" // PKCS#8
	keyIBM  = "ibm-rsa2048.pem"     // PKCS#1; public half in ibm-rsa2048.pub.pem
	keyWeak = "rsa1024-weak.pem"    // too small
	key4096 = "rsa4096.pem"         // PKCS#8, for Orchestrate
	keyEC   = "ec-p256.pkcs8.pem"   // not RSA
	keyEd   = "ed25519.pem"         // not RSA
	keyECv1 = "ec-p256.sec1.pem"    // SEC 1 after an EC PARAMETERS block
	pubA    = "rsa2048-a.pub.pem"   // PKIX
	pubA1   = "rsa2048-a.pkcs1.pub.pem"
	pubIBM  = "ibm-rsa2048.pub.pem"
)

// fingerprintA is what
// openssl pkey -pubin -in testdata/rsa2048-a.pub.pem -outform DER | sha256sum
// prints.
const fingerprintA = "fd8d60c18cdebc6051667f5633cf3f2576ef6537746565ce8cba40012773b533"

// fixedNow is the clock of every test server: tokens are checked against it,
// never against the wall clock.
var fixedNow = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

// fixedClock is a clock stopped at t. The package's other clock is
// stepClock (tokenpath_test.go), for tests that move time by hand.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

var (
	keyMu    sync.Mutex
	keyCache = map[string]*rsa.PrivateKey{}
)

// rsaKey loads an RSA private key from testdata once per test binary.
func rsaKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := keyCache[name]; ok {
		return k
	}
	k, err := keys.LoadPrivateFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("%s: got %T, want *rsa.PrivateKey", name, k)
	}
	keyCache[name] = rk
	return rk
}

func secretKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// cadeLogin is the tutorial's demo login: every POST /authenticate is Cade,
// unless the request says "wrong".
func cadeLogin(r *http.Request) (*identity.SessionInfo, error) {
	if r.Header.Get("X-Password") == "wrong" {
		return nil, identity.ErrUnauthenticated
	}
	return &identity.SessionInfo{UserName: "Cade", CustomUserID: "cade-id"}, nil
}

// newServer returns a Server with key A, a fixed clock, a discarded log,
// cookie sessions and the Cade login, unless cfg says otherwise.
func newServer(t testing.TB, cfg identity.Config) *identity.Server {
	t.Helper()
	if cfg.SigningKeys == nil {
		cfg.SigningKeys = []identity.SigningKey{{Key: rsaKey(t, keyA)}}
	}
	if cfg.Now == nil {
		cfg.Now = fixedClock(fixedNow)
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	if cfg.Ledger != nil && cfg.Anonymous.BindingKeys == nil && !cfg.LedgerWithoutBinding {
		cfg.Anonymous.BindingKeys = [][]byte{bindingKey} // New requires binding with a ledger
	}
	if _, bench := t.(*testing.B); !bench && cfg.Admission == (identity.AdmissionConfig{}) {
		// Admission stays on, but a test that is not about shedding must
		// not shed on a loaded machine, where under -race a signature can
		// take longer than the default 100 ms wait. Benchmarks keep the
		// defaults they measure.
		cfg.Admission.MaxWait = 30 * time.Second
		if cfg.TTL > 0 && cfg.TTL < cfg.Admission.MaxWait {
			cfg.Admission.MaxWait = cfg.TTL
		}
	}
	if cfg.Sessions == nil && cfg.SessionKeys == nil {
		cfg.SessionKeys = [][]byte{secretKey(1)}
		if cfg.Authenticate == nil {
			cfg.Authenticate = cadeLogin
		}
	}
	srv, err := identity.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return srv
}

// client drives a handler with httptest.NewRecorder, carrying cookies from
// one response to the next requests like a browser on one site.
type client struct {
	t       testing.TB
	h       http.Handler
	cookies map[string]*http.Cookie

	// Sent as X-Page, X-Tier, X-TTL and X-JTI for the Config.Claims hook
	// client.claims (tokenpath_test.go).
	page, tier, jti string
	ttl             time.Duration
}

func newClient(t testing.TB, h http.Handler) *client {
	return &client{t: t, h: h, cookies: map[string]*http.Cookie{}}
}

func (c *client) do(method, path string, hdr ...string) *httptest.ResponseRecorder {
	c.t.Helper()
	req := httptest.NewRequest(method, "http://example.com"+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.send(req)
}

// send serves req with the client's cookies and keeps those the answer sets.
func (c *client) send(req *http.Request) *httptest.ResponseRecorder {
	for k, v := range map[string]string{"X-Page": c.page, "X-Tier": c.tier, "X-JTI": c.jti} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	if c.ttl != 0 {
		req.Header.Set("X-TTL", c.ttl.String())
	}
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	return rec
}

// token gets a token from GET /createJWT and verifies it against the JWK set
// the server's JWKS endpoint serves.
func (c *client) token() jwt.Token {
	c.t.Helper()
	rec := c.do("GET", "/createJWT")
	if rec.Code != http.StatusOK {
		c.t.Fatalf("GET /createJWT: got status %d (%q), want 200", rec.Code, rec.Body.String())
	}
	return verifyWithJWKS(c.t, c.h, rec.Body.String())
}

// fetchJWKS returns the key set h serves at /.well-known/jwks.json.
func fetchJWKS(t testing.TB, h http.Handler) jwk.Set {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /.well-known/jwks.json: got status %d, want 200", rec.Code)
	}
	set, err := jwk.Parse(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("parsing the JWKS: %v", err)
	}
	return set
}

func verifyWithJWKS(t testing.TB, h http.Handler, token string) jwt.Token {
	t.Helper()
	tok, err := claims.Verify(token, fetchJWKS(t, h), claims.WithClock(fixedClock(fixedNow)))
	if err != nil {
		t.Fatalf("token does not verify against the served JWKS: %v", err)
	}
	return tok
}

// payload returns the token's clear user_payload as a map, nil when absent.
func payload(t testing.TB, tok jwt.Token) map[string]any {
	t.Helper()
	v, ok := tok.Get(claims.UserPayloadClaim)
	if !ok {
		return nil
	}
	var raw []byte
	switch v := v.(type) {
	case json.RawMessage:
		raw = v
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("user_payload is not a JSON object: %v", err)
	}
	return m
}

func jsonEqual(t testing.TB, got any, want string) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(g, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	if !bytes.Equal(ga, gb) {
		t.Errorf("got %s, want %s", ga, gb)
	}
}

// failingSource is a session source whose store is down.
var failingSource = identity.SessionSourceFunc(func(*http.Request) (*identity.SessionInfo, error) {
	return nil, errors.New("session store unreachable")
})

// The package's fakes of the stores: one Ledger and one Revoker, each
// failing on demand. The stores' own Ping is tested against real SQLite and
// PostgreSQL in their packages; identity's tests must not import a database
// driver (footprint_test.go), so the fakes' Ping fails with an error
// carrying what a driver's might.

const driverError = "dial tcp db.internal:5432: connect: connection refused (user=app password=secret-dsn-marker)"

// fakeLedger is an in-memory Ledger that counts writes and can fail, or
// hang until the caller's context ends (a black-holed database). Its Ping
// (it is a ledger.Pinger) counts calls and fails while down is set.
type fakeLedger struct {
	mu      sync.Mutex
	fail    bool
	hang    bool
	records []string // anonymous IDs, one per Record call
	links   []string // "anonID>customUserID", one per Link call
	down    atomic.Bool
	pings   atomic.Int64
}

var errLedgerDown = errors.New("ledger unreachable")

func (l *fakeLedger) Ping(ctx context.Context) error {
	l.pings.Add(1)
	if l.down.Load() {
		return errors.New(driverError)
	}
	return ctx.Err()
}

func (l *fakeLedger) Record(ctx context.Context, anonID string, _ time.Time) error {
	if l.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return errLedgerDown
	}
	l.records = append(l.records, anonID)
	return nil
}

func (l *fakeLedger) Link(ctx context.Context, anonID, user string, _ time.Time) error {
	if l.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return errLedgerDown
	}
	l.links = append(l.links, anonID+">"+user)
	return nil
}

func (l *fakeLedger) Lookup(context.Context, string) ([]ledger.Entry, error) {
	return nil, nil
}
func (l *fakeLedger) Forget(context.Context, string, ...string) error { return nil }
func (l *fakeLedger) Prune(context.Context, time.Time) (int, error)   { return 0, nil }
func (l *fakeLedger) Export(context.Context, func(ledger.Entry) error) error {
	return nil
}

func (l *fakeLedger) counts() (records, links []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.records...), append([]string(nil), l.links...)
}

// fakeRevoker is a memrevoke store that counts its reads, remembers its
// last revocation and fails on demand: failRead or failRevoke fail those
// calls, down fails every call (Ping too), and hang blocks reads until the
// caller's context ends. A hang that the context does not end gives up after
// a minute with an error no test expects, so a Server that stopped passing
// the request's context fails its test rather than hanging the test binary.
type fakeRevoker struct {
	identity.Revoker
	reads                            atomic.Int64
	down, hang, failRead, failRevoke atomic.Bool
	lastUntil                        atomic.Pointer[time.Time]
	lastRevoked                      atomic.Pointer[string]
}

func newFakeRevoker() *fakeRevoker { return &fakeRevoker{Revoker: memrevoke.New()} }

var errRevokerDown = errors.New("revocation store: connection refused")

func (r *fakeRevoker) Revoked(ctx context.Context, id string) (bool, error) {
	r.reads.Add(1)
	switch {
	case r.down.Load() || r.failRead.Load():
		return false, errRevokerDown
	case r.hang.Load():
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(time.Minute): // only if the Server's context never ends
			return false, errors.New("the revocation read outlived its request's deadline by a minute")
		}
	}
	return r.Revoker.Revoked(ctx, id)
}

func (r *fakeRevoker) Revoke(ctx context.Context, id string, until time.Time) error {
	if r.down.Load() || r.failRevoke.Load() {
		return errRevokerDown
	}
	r.lastUntil.Store(&until)
	r.lastRevoked.Store(&id)
	return r.Revoker.Revoke(ctx, id, until)
}

func (r *fakeRevoker) Ping(ctx context.Context) error {
	if r.down.Load() {
		return errors.New(driverError)
	}
	return ctx.Err()
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func body(t testing.TB, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

var errTest = errors.New("test failure")

// jwsKeyID returns the kid header of a compact JWT.
func jwsKeyID(t testing.TB, token string) string {
	t.Helper()
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Signatures()[0].ProtectedHeaders().KeyID()
}

func identityKeyID(k *rsa.PrivateKey) (string, error) { return claims.KeyID(&k.PublicKey) }
